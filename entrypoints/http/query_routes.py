"""GET queries: eligibility, history (as of), replay, work queue, report, verify, digest, export."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from application.queries import default_now, eligibility, history, parse_as_of
from application.replay import find_decision, replay_decision
from audit.digest import compute_digest
from audit.record import render
from audit.verify import verify
from domain.patient_events import PatientEnrolled
from entrypoints.http.dependencies import Caller, api_state
from entrypoints.http.policy import check_patient_read, check_program_read
from entrypoints.http.responses import error_response
from rendering.record_html import CSP

RECORD_CSP = f"{CSP}; frame-ancestors 'none'; base-uri 'none'"
"""The inspection record's own policy (inline style, data: images), never framed."""

AsOf = Annotated[
    str | None,
    Query(description="ISO instant with offset, or a date (end of that day)", max_length=64),
]


router = APIRouter()
"""Every GET query."""


@router.get("/v1/patients/{patient_id}/eligibility", tags=["queries"])
def get_eligibility(
    request: Request,
    patient_id: str,
    principal: Caller,
    as_of: AsOf = None,
    authorization_number: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Would an authorization be issued now (or at `as_of`)? With every unmet rule. A
    pharmacy presents the patient's authorization number (or holds a confirmation)."""
    ledger = api_state(request).ledger
    check_patient_read(ledger, principal, patient_id, "eligibility", authorization_number)
    if as_of:
        return eligibility(ledger, patient_id, parse_as_of(as_of, ledger))
    return api_state(request).views.eligibility(patient_id, default_now(ledger))


@router.get("/v1/patients/{patient_id}/history", tags=["queries"])
def get_history(
    request: Request, patient_id: str, principal: Caller, as_of: AsOf = None
) -> dict[str, Any]:
    """The patient's events in recorded order; with `as_of`, what was recorded by then."""
    ledger = api_state(request).ledger
    check_patient_read(ledger, principal, patient_id, "history")
    return history(ledger, patient_id, parse_as_of(as_of, ledger) if as_of else None)


@router.get("/v1/patients/{patient_id}/export", tags=["queries"], response_model=None)
def get_export(
    request: Request,
    patient_id: str,
    principal: Caller,
    format: Literal["json", "html"] = "json",
) -> HTMLResponse | JSONResponse:
    """The inspection record of one patient (self-contained HTML, or JSON)."""
    ledger = api_state(request).ledger
    check_patient_read(ledger, principal, patient_id, "export")
    content = render(ledger, patient_id, format)
    if format == "html":
        return HTMLResponse(content, headers={"Content-Security-Policy": RECORD_CSP})
    return JSONResponse(orjson.loads(content))


@router.get("/v1/decisions/{reference}/replay", tags=["queries"])
def get_replay(request: Request, reference: str, principal: Caller) -> dict[str, Any]:
    """Re-run a recorded decision (RA-..., RC-..., or PATIENT_ID@VERSION)."""
    ledger = api_state(request).ledger
    if "@" in reference:  # the patient is named: check scope before looking anything up
        check_patient_read(ledger, principal, reference.rpartition("@")[0], "decisions")
    events, _ = find_decision(ledger, reference)
    enrolled = cast(PatientEnrolled, events[0])
    check_patient_read(ledger, principal, enrolled.patient_id, "decisions")
    return replay_decision(ledger, reference)


@router.get("/v1/due", tags=["queries"])
def get_due(request: Request, principal: Caller, on: AsOf = None) -> dict[str, Any]:
    """What is due or overdue per patient on a day, most overdue first."""
    check_program_read(principal, "work queue")
    ledger = api_state(request).ledger
    return api_state(request).views.due(parse_as_of(on, ledger) if on else default_now(ledger))


@router.get("/v1/report", tags=["queries"])
def get_report(request: Request, principal: Caller) -> dict[str, Any]:
    """Authorizations issued and denied per month, by category and rule."""
    check_program_read(principal, "report")
    return api_state(request).views.report()


@router.get("/v1/verify", tags=["audit"])
def get_verify(
    request: Request,
    principal: Caller,
    digest: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Re-read the whole store and check every hash chain (and a published digest)."""
    check_program_read(principal, "verification")
    try:
        report = verify(api_state(request).ledger, digest=digest)
    except ValueError as error:
        return error_response("invalid", str(error))
    return JSONResponse(report.model_dump(mode="json"))


@router.get("/v1/digest", tags=["audit"])
def get_digest(request: Request, principal: Caller) -> dict[str, Any]:
    """A digest over every aggregate's head at the current log position."""
    check_program_read(principal, "digest")
    result: dict[str, Any] = compute_digest(api_state(request).ledger).to_json()
    return result
