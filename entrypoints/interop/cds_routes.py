"""CDS Hooks endpoints: discovery (open, as in CDS Hooks practice) and the three services, each
call proven by an allow-listed EHR's JWT (INTEROP.md §2, §5.2, §12.5). Errors use the API's
envelope with the statuses of §2.6; a client error is never a 200 "Bad Request" card."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from entrypoints.http.dependencies import ApiState
from entrypoints.http.responses import error_body
from entrypoints.interop.cds_auth import CdsAuthError, SeenTokens, verify_cds_jwt
from entrypoints.interop.cds_models import CdsRequest, Service
from entrypoints.interop.cds_service import CdsProblem, answer_hook
from entrypoints.interop.settings import InteropSettings

log = logging.getLogger("rems.api")
PREFETCH = {"patient": "Patient/{{context.patientId}}", "practitioner": "{{context.userId}}"}
USAGE = (
    "Patient.identifier with the REMS patient ID and Practitioner.identifier with the REMS "
    "prescriber ID must be in prefetch (the service makes no FHIR queries of its own)."
)
SERVICES = (
    Service(
        hook="order-select",
        id="lenalidomide-rems-order-select",
        title="Lenalidomide REMS: prescriber and patient requirements",
        description="When lenalidomide is selected: whether the prescriber is certified and the "
        "patient enrolled, and every unmet Lenalidomide REMS requirement by rule ID.",
        prefetch=PREFETCH,
        usageRequirements=USAGE,
    ),
    Service(
        hook="order-sign",
        id="lenalidomide-rems-order-sign",
        title="Lenalidomide REMS: requirements before signing",
        description="Before a lenalidomide prescription is signed: every unmet REMS requirement "
        "(rule ID, guide text), the prescription limits (A3), and whether an authorization "
        "number can be issued.",
        prefetch=PREFETCH,
        usageRequirements=USAGE,
    ),
    Service(
        hook="patient-view",
        id="lenalidomide-rems-patient-view",
        title="Lenalidomide REMS: what is due",
        description="For an enrolled patient: blocking states (T7, T8, E6), unmet requirements "
        "and what is due (pregnancy tests, surveys, CBC, authorization expiry).",
        prefetch={
            **PREFETCH,
            "medicationRequests": "MedicationRequest?subject={{context.patientId}}"
            "&_include=MedicationRequest:medication",
        },
        usageRequirements=USAGE,
    ),
)
BY_ID = {s.id: s for s in SERVICES}


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _parse(raw: bytes, hook: str) -> CdsRequest:
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CdsProblem(400, "invalid", "The body is not JSON.") from None
    try:
        call = CdsRequest.model_validate(body)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        )
        raise CdsProblem(400, "invalid", problems + ".") from None
    if call.hook != hook:
        msg = f"hook: this service answers {hook}, not {call.hook}."
        raise CdsProblem(400, "invalid", msg)
    return call


router = APIRouter()
"""Discovery and the services; an app keeps the replay cache of accepted tokens in
`app.state.cds_tokens` (`entrypoints.interop.routes.interop_state`)."""


# Discovery is open (CDS Hooks practice, §12.5): no security on this operation.
@router.get("/cds-services", tags=["cds-hooks"], openapi_extra={"security": []})
def discovery() -> dict[str, Any]:
    """The CDS services this REMS administrator offers (CDS Hooks 2.0 discovery)."""
    return {"services": [s.model_dump(exclude_none=True) for s in SERVICES]}


@router.post(
    "/cds-services/{service_id}",
    tags=["cds-hooks"],
    response_model=None,
    responses={
        400: {"description": "Malformed request or wrong hook for the service"},
        412: {"description": "No prefetched patient (the server queries no EHR)"},
    },
)
async def service(request: Request, service_id: str) -> JSONResponse:
    """One card per unmet rule for the order or patient; `{"cards": []}` when no
    lenalidomide order is involved. Needs the EHR's CDS Hooks JWT."""
    settings: InteropSettings = request.app.state.interop
    seen: SeenTokens = request.app.state.cds_tokens
    audience = str(request.url.replace(query=""))
    try:
        claims = verify_cds_jwt(request.headers.get("authorization"), audience, settings, seen)
    except CdsAuthError as error:
        return _error(
            error.status,
            "unauthenticated" if error.status == 401 else "forbidden",
            error.message,
        )
    hook = BY_ID.get(service_id)
    if hook is None:
        return _error(404, "not_found", f"No CDS service {service_id!r} here.")
    state: ApiState = request.app.state.api
    try:
        call = _parse(await request.body(), hook.hook)
        answer = answer_hook(state.views, call, settings.canonical, settings.program_url)
    except CdsProblem as problem:
        return _error(problem.status, problem.code, problem.message)
    # The actor of a CDS read: the EHR and the prescriber it asserts (no PHI).
    log.info(
        "cds %s actor=ehr:%s prescriber:%s cards=%d",
        service_id,
        claims["iss"],
        answer.prescriber_id or "-",
        len(answer.cards),
    )
    return JSONResponse({"cards": answer.cards})
