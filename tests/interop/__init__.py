"""Tests of the interop adapters (CDS Hooks, FHIR $rems-etasu, pharmacy REMS check)."""
