"""FHIR identifiers → program IDs (INTEROP.md §1.2): never by name and birth date.

A patient is named by `Patient.identifier` of system `{C}/sid/patient-id` or by an `RA-`/`RC-`
number; a prescriber by `Practitioner.identifier` of system `{C}/sid/prescriber-id`. An NPI is
recorded nowhere in the ledger, so it identifies no one (a later `npi` on register_prescriber).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PATIENT_ID_PATH = "/sid/patient-id"
PRESCRIBER_ID_PATH = "/sid/prescriber-id"
PHARMACY_ID_PATH = "/sid/pharmacy-id"
MAX_ID_LENGTH = 64


def program_id(text: Any) -> str | None:
    """A program ID as the ledger reads it (trimmed, at most 64 characters), or None."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    return value if 0 < len(value) <= MAX_ID_LENGTH else None


def identifier_value(resource: Any, system: str) -> str | None:
    """The value of the resource's first identifier with this exact system."""
    if not isinstance(resource, Mapping):
        return None
    identifiers = resource.get("identifier")
    if not isinstance(identifiers, list):
        return None
    for identifier in identifiers:
        if isinstance(identifier, Mapping) and identifier.get("system") == system:
            return program_id(identifier.get("value"))
    return None


def patient_id_of(patient: Any, canonical: str) -> str | None:
    """The REMS patient ID a FHIR Patient carries, or None."""
    return identifier_value(patient, canonical + PATIENT_ID_PATH)


def prescriber_id_of(practitioner: Any, canonical: str) -> str | None:
    """The REMS prescriber ID a FHIR Practitioner carries, or None."""
    return identifier_value(practitioner, canonical + PRESCRIBER_ID_PATH)


def reference_to(resource: Any) -> str | None:
    """`Type/id` of a resource (what `context.userId` names)."""
    if not isinstance(resource, Mapping):
        return None
    kind, rid = resource.get("resourceType"), resource.get("id")
    return f"{kind}/{rid}" if isinstance(kind, str) and isinstance(rid, str) else None
