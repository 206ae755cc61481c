"""FHIR R4 resources out of plain data, checked by a maintained library (`fhir.resources`, R4B
models: every element used here is the same in R4 and R4B; INTEROP.md §6).

Each resource is written as JSON-ready data, validated by its R4B model (a wrong element, type
or cardinality raises), and the validated data is what is sent. The model's own serializer is
skipped because it costs more than the validation while producing the same JSON object (a test
proves the round trip).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi.responses import Response
from fhir.resources.R4B import get_fhir_model_class

FHIR_JSON = "application/fhir+json; fhirVersion=4.0"
IssueCode = Literal[
    "structure",
    "required",
    "invalid",
    "not-found",
    "not-supported",
    "login",
    "forbidden",
    "too-costly",
    "conflict",
    "exception",
    "informational",
]
GuidanceStatus = Literal["success", "data-required", "failure"]


def checked(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, after its R4B model accepted it."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def fhir_response(
    resource: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A FHIR JSON answer."""
    return Response(
        orjson.dumps(resource),
        status_code=status_code,
        media_type=FHIR_JSON,
        headers=headers,
    )


def operation_outcome(
    code: IssueCode,
    text: str,
    expression: str | None = None,
    severity: Literal["error", "warning", "information", "fatal"] = "error",
    resource_id: str | None = None,
) -> dict[str, Any]:
    """An OperationOutcome with one issue."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "details": {"text": text}}
    if expression:
        issue["expression"] = [expression]
    outcome: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if resource_id:
        outcome["id"] = resource_id
    outcome["issue"] = [issue]
    return checked(outcome)


def outcome_response(
    status_code: int, code: IssueCode, text: str, expression: str | None = None
) -> Response:
    """An error answer under /fhir: always an OperationOutcome (§3.4)."""
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    if status_code == 409:
        headers = {"Retry-After": "1"}
    return fhir_response(operation_outcome(code, text, expression), status_code, headers)
