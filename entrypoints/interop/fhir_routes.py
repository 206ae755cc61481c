"""`/fhir` (R4 4.0.1, JSON): metadata, the OperationDefinition, and `$rems-etasu` (POST, and GET
with `case_number`). Every 4xx/5xx here is an OperationOutcome, never the `/v1` envelope (§3.4)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from entrypoints.http.dependencies import ApiState, principal_of
from entrypoints.http.tokens import Principal
from entrypoints.interop.capability import capability_statement, operation_definition
from entrypoints.interop.etasu_input import EtasuRequest, FhirProblem, parse_etasu_request
from entrypoints.interop.etasu_service import rems_etasu
from entrypoints.interop.fhir_build import fhir_response, outcome_response
from entrypoints.interop.settings import InteropSettings

log = logging.getLogger("rems.api")
JSON_MEDIA = ("application/fhir+json", "application/json", "application/json+fhir")
OPERATION = "/fhir/GuidanceResponse/$rems-etasu"


def interop_settings(request: Request) -> InteropSettings:
    """The interop settings of this app."""
    settings: InteropSettings = request.app.state.interop
    return settings


def _principal(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise FhirProblem(401, "login", "Send Authorization: Bearer <token>.")
    return principal


def _media_type_problem(request: Request) -> FhirProblem | None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in JSON_MEDIA:
        return None
    text = "Only FHIR JSON (application/fhir+json) is accepted; XML is not supported."
    return FhirProblem(415, "not-supported", text)


def _answer(request: Request, principal: Principal, etasu: EtasuRequest) -> Response:
    state: ApiState = request.app.state.api
    canonical = interop_settings(request).canonical
    return fhir_response(rems_etasu(state.views, principal, etasu, canonical))


def _problem_response(problem: FhirProblem) -> Response:
    return outcome_response(problem.status, problem.code, problem.text, problem.expression)


router = APIRouter()
"""The FHIR endpoint (documented by its CapabilityStatement, not OpenAPI)."""


@router.get("/fhir/metadata", include_in_schema=False)
def metadata(request: Request) -> Response:
    settings = interop_settings(request)
    base = str(request.base_url).rstrip("/") + "/fhir"
    return fhir_response(capability_statement(settings.canonical, base))


@router.get("/fhir/OperationDefinition/rems-etasu", include_in_schema=False)
def definition(request: Request) -> Response:
    return fhir_response(operation_definition(interop_settings(request).canonical))


@router.post(OPERATION, include_in_schema=False)
async def etasu_post(request: Request) -> Response:
    try:
        principal = _principal(request)
        if problem := _media_type_problem(request):
            raise problem
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise FhirProblem(400, "structure", "The body is not JSON.") from None
        etasu = parse_etasu_request(body, interop_settings(request).canonical)
        return _answer(request, principal, etasu)
    except FhirProblem as problem:
        return _problem_response(problem)
    except Exception as error:
        log.error("fhir $rems-etasu failed: %s", type(error).__name__)
        return outcome_response(500, "exception", "The server could not answer.")


@router.get(OPERATION, include_in_schema=False)
def etasu_get(request: Request) -> Response:
    try:
        principal = _principal(request)
        numbers = [
            request.query_params[n]
            for n in ("case_number", "caseNumber", "authNumber")
            if n in request.query_params
        ]
        if not numbers:
            raise FhirProblem(400, "required", "Give case_number.", "case_number")
        etasu = EtasuRequest(number=numbers[0], number_at="case_number")
        return _answer(request, principal, etasu)
    except FhirProblem as problem:
        return _problem_response(problem)


@router.api_route(
    "/fhir/{rest:path}",
    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
    include_in_schema=False,
)
def unknown(rest: str) -> Response:
    if "$" in rest:
        return outcome_response(404, "not-supported", "Unknown operation.")
    return outcome_response(404, "not-found", "No such FHIR resource or interaction here.")
