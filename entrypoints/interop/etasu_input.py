"""Reading a `$rems-etasu` request leniently (INTEROP.md §3.3): every spelling of the case number
the sources use, `patient` + `medication` (Medication or MedicationRequest), `as-of`. Problems are
raised as `FhirProblem` with the status and OperationOutcome code §3.4 gives them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from entrypoints.interop.fhir_build import IssueCode
from entrypoints.interop.identity import PATIENT_ID_PATH

CASE_NUMBER_NAMES = ("case_number", "caseNumber", "authNumber")
KNOWN = frozenset({*CASE_NUMBER_NAMES, "patient", "medication", "as-of"})
RESOURCE_TYPES = {"patient": ("Patient",), "medication": ("Medication", "MedicationRequest")}


class FhirProblem(Exception):
    """A request the operation cannot answer: HTTP status, issue code, text, FHIRPath."""

    def __init__(
        self, status: int, code: IssueCode, text: str, expression: str | None = None
    ) -> None:
        super().__init__(text)
        self.status, self.code, self.text, self.expression = status, code, text, expression


@dataclass
class EtasuRequest:
    """What the caller asked about."""

    number: str | None = None
    number_at: str | None = None
    patient: Mapping[str, Any] | None = None
    medication: Mapping[str, Any] | None = None
    as_of: str | None = None
    ignored: list[str] = field(default_factory=list)


def _value_text(parameter: Mapping[str, Any]) -> str | None:
    for key in ("valueString", "valueId", "valueCode"):
        if isinstance(parameter.get(key), str):
            return str(parameter[key])
    identifier = parameter.get("valueIdentifier")
    if isinstance(identifier, Mapping) and isinstance(identifier.get("value"), str):
        return str(identifier["value"])
    return None


def parse_etasu_request(body: Any, canonical: str) -> EtasuRequest:
    """The request's parameters; raises FhirProblem for a body that is not a usable Parameters."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "Parameters":
        kind = body.get("resourceType") if isinstance(body, Mapping) else None
        text = f"The body must be a FHIR Parameters resource, not {kind or 'this'}."
        raise FhirProblem(400, "structure", text, "Parameters")
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise FhirProblem(400, "structure", "Parameters.parameter must be a list.", "Parameters")
    request = EtasuRequest()
    for index, parameter in enumerate(parameters):
        where = f"Parameters.parameter[{index}]"
        if not isinstance(parameter, Mapping) or not isinstance(parameter.get("name"), str):
            raise FhirProblem(400, "structure", f"{where} needs a name.", where)
        name = parameter["name"]
        if name not in KNOWN:
            request.ignored.append(name)
            continue
        if name in RESOURCE_TYPES:
            resource = parameter.get("resource")
            kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
            if kind not in RESOURCE_TYPES[name]:
                wanted = " or ".join(RESOURCE_TYPES[name])
                text = f"{where} ({name}) must carry a {wanted} resource, not {kind or 'none'}."
                raise FhirProblem(400, "structure", text, f"{where}.resource")
            assert isinstance(resource, Mapping)
            if name == "patient":
                request.patient = resource
            else:
                request.medication = resource
        elif name == "as-of":
            value = parameter.get("valueDateTime")
            if not isinstance(value, str):
                raise FhirProblem(400, "invalid", "as-of must be a valueDateTime.", where)
            request.as_of = value
        else:
            number = _value_text(parameter)
            if number is None:
                raise FhirProblem(400, "invalid", f"{name} must be a valueString.", where)
            request.number, request.number_at = number, where
    if request.number is None and request.patient is None:
        text = (
            f"Give a patient (with an identifier of system {canonical}{PATIENT_ID_PATH}) "
            "or a case_number."
        )
        raise FhirProblem(400, "required", text, "Parameters")
    return request
