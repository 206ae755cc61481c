"""Adapters for the field's standards (INTEROP.md): CDS Hooks, FHIR `$rems-etasu`, and the
pharmacy REMS check (NCPDP SCRIPT REMS transactions as JSON). No rule logic lives here."""
