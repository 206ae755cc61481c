"""What the FHIR endpoint can do: its CapabilityStatement (`GET /fhir/metadata`) and the
OperationDefinition of `$rems-etasu`, which the IG defines in prose only (INTEROP.md §3.1, §3.2).
SMART is not advertised until it exists (§5.3)."""

from __future__ import annotations

from typing import Any

from entrypoints.interop.fhir_build import checked
from entrypoints.interop.identity import PATIENT_ID_PATH

SOFTWARE_VERSION = "0.1.0"
PUBLISHED = "2026-03-01"
IG = "http://hl7.org/fhir/us/medication-rems/ImplementationGuide/hl7.fhir.us.medication-rems|2.0.0"
IG_ADMINISTRATOR = (
    "http://hl7.org/fhir/us/medication-rems/CapabilityStatement/rems-administrator-system"
)


def _narrative(text: str) -> dict[str, str]:
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'}


def capability_statement(canonical: str, base_url: str) -> dict[str, Any]:
    """The instance CapabilityStatement of this server."""
    return checked(
        {
            "resourceType": "CapabilityStatement",
            "id": "lenalidomide-rems-ledger",
            "text": _narrative(
                "Lenalidomide REMS ledger: FHIR R4 operation $rems-etasu on GuidanceResponse."
            ),
            "url": f"{canonical}/CapabilityStatement/lenalidomide-rems-ledger",
            "version": SOFTWARE_VERSION,
            "name": "LenalidomideRemsLedger",
            "title": "Lenalidomide REMS ledger - FHIR endpoint",
            "status": "active",
            "experimental": False,
            "date": PUBLISHED,
            "publisher": "REMS ledger",
            "kind": "instance",
            "instantiates": [IG_ADMINISTRATOR],
            "software": {"name": "rems-ledger", "version": SOFTWARE_VERSION},
            "implementation": {
                "description": "Lenalidomide REMS administrator ledger",
                "url": base_url,
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "implementationGuide": [IG],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "JSON only (application/fhir+json). CDS Hooks services at "
                    "/cds-services; pharmacy REMS check at /ncpdp/rems-request.",
                    "security": {
                        "cors": False,
                        "description": "Bearer token in Authorization (tokens issued by `rems "
                        "tokens create`; role prescriber, pharmacy, compliance or auditor). SMART "
                        "Backend Services is planned and not yet advertised.",
                    },
                    "resource": [
                        {
                            "type": "GuidanceResponse",
                            "operation": [
                                {
                                    "name": "rems-etasu",
                                    "definition": f"{canonical}/OperationDefinition/rems-etasu",
                                }
                            ],
                        },
                        {"type": "OperationDefinition", "interaction": [{"code": "read"}]},
                    ],
                }
            ],
        }
    )


def _parameter(
    name: str, use: str, kind: str, documentation: str, minimum: int = 0
) -> dict[str, Any]:
    return {
        "name": name,
        "use": use,
        "min": minimum,
        "max": "1",
        "type": kind,
        "documentation": documentation,
    }


def operation_definition(canonical: str) -> dict[str, Any]:
    """The OperationDefinition of `$rems-etasu` as this server implements it."""
    return checked(
        {
            "resourceType": "OperationDefinition",
            "id": "rems-etasu",
            "text": _narrative(
                "REMS ETASU status for a patient and medication, one GuidanceResponse per "
                "requirement."
            ),
            "url": f"{canonical}/OperationDefinition/rems-etasu",
            "version": "1.0.0",
            "name": "RemsEtasu",
            "title": "Lenalidomide REMS ETASU check",
            "status": "active",
            "kind": "operation",
            "date": PUBLISHED,
            "publisher": "REMS ledger",
            "description": "The $rems-etasu operation of the HL7 US Medication REMS IG STU2 "
            "(specification.html#out-of-band-etasu-check), which the IG defines in prose only. "
            "Input: patient + medication, or case_number. Output: one GuidanceResponse whose "
            "contained Parameters hold one GuidanceResponse per ETASU requirement (named by rule "
            "ID) and the case number.",
            "affectsState": False,
            "code": "rems-etasu",
            "resource": ["GuidanceResponse"],
            "system": False,
            "type": True,
            "instance": False,
            "parameter": [
                _parameter(
                    "patient",
                    "in",
                    "Patient",
                    "The patient. Matched only by Patient.identifier of system "
                    f"{canonical}{PATIENT_ID_PATH} (never by demographics).",
                ),
                _parameter(
                    "medication",
                    "in",
                    "Resource",
                    "Medication or MedicationRequest for a lenalidomide product (RxNorm or NDC); "
                    "other drugs answer failure.",
                ),
                _parameter(
                    "case_number",
                    "in",
                    "string",
                    "An authorization number (RA-...) or confirmation number (RC-...). The alias "
                    "caseNumber (mcode/rems-admin, mcode/pims) is accepted.",
                ),
                _parameter(
                    "as-of",
                    "in",
                    "dateTime",
                    "Compliance and auditors only: judge on what the ledger had recorded by then.",
                ),
                _parameter(
                    "rems-etasu",
                    "out",
                    "GuidanceResponse",
                    "status success | data-required | failure; contained Parameters "
                    "'etasuOutputParameters' with one GuidanceResponse per requirement and "
                    "case_number.",
                    minimum=1,
                ),
            ],
        }
    )
