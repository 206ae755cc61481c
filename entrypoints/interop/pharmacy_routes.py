"""`/ncpdp/rems-request`, `/ncpdp/rems-initiation`, `/ncpdp/rx-fill` (INTEROP.md §4): the pharmacy
is the token's subject, never the body's; `Header.MessageID` is the idempotency key
(`command_id = "ncpdp:" + MessageID`), so a retried message returns the first answer and records
nothing twice. Every decision goes through `Ledger.execute`, actor `pharmacy:{id}`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from application.errors import NotFound
from application.interop_queries import open_authorization, patient_of_number, read_patient
from application.queries import default_now, eligibility_answer
from entrypoints.http.dependencies import ApiState, principal_of
from entrypoints.http.responses import error_body
from entrypoints.http.tokens import Principal, Role
from entrypoints.interop.pharmacy import (
    MessageProblem,
    check_pharmacy,
    check_product,
    denied_code,
    header,
    note,
    path,
    required_number,
    required_text,
    response_header,
)

REQUEST = ("Body", "REMSRequest")
INITIATION = ("Body", "REMSInitiationRequest")
PATIENT_ID = ("Patient", "HumanPatient", "Identification", "REMSPatientID")


def _pharmacy(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise MessageProblem(401, "unauthenticated", "Send Authorization: Bearer <token>.")
    if principal.role is not Role.PHARMACY:
        raise MessageProblem(403, "forbidden", "Only a pharmacy sends REMS pharmacy messages.")
    return principal


async def _message(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        msg = "Only JSON is accepted (the SCRIPT XML adapter is not built yet)."
        raise MessageProblem(415, "unsupported_media_type", msg)
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise MessageProblem(400, "invalid", "The body is not JSON.") from None


def _ledger_error(result: dict[str, Any]) -> JSONResponse | None:
    code = result.get("error", {}).get("code")
    if code == "invalid":
        return JSONResponse(result, status_code=422)
    if code == "conflict":
        result["error"]["retryable"] = True
        return JSONResponse(result, status_code=409, headers={"Retry-After": "1"})
    return None


def _approved(state: ApiState, first: dict[str, Any], case: str) -> tuple[Any, Any]:
    patient = state.ledger.patient_state(first["patient_id"])
    assert patient is not None, "a confirmation was issued for this patient"
    authorization = patient.authorization(first["authorization_number"])
    confirmation = patient.confirmation(first["confirmation_number"])
    assert authorization is not None, "a confirmation's authorization is on its patient"
    assert confirmation is not None, "a claimed confirmation is on its patient"
    tz = state.ledger.settings.timezone
    period = {
        "EffectiveDate": {"Date": confirmation.confirmed_at.astimezone(tz).date().isoformat()},
        "ExpirationDate": {"Date": authorization.expires_at.astimezone(tz).date().isoformat()},
    }
    status = {
        "Approved": {
            "REMSCaseID": case,
            "REMSAuthorizationNumber": first["confirmation_number"],
            "AuthorizationPeriod": period,
        }
    }
    ledger = {
        key: first[key]
        for key in (
            "confirmation_number",
            "authorization_number",
            "patient_id",
            "risk_category",
            "days_supply",
        )
    }
    ledger["authorization_expires_at"] = authorization.expires_at.isoformat()
    return status, ledger


def _rems_response(
    state: ApiState, result: dict[str, Any], reference: str, case: str, patient_id: str
) -> dict[str, Any]:
    duplicate = result.get("error", {}).get("code") == "duplicate"
    first = result["original"] if duplicate else result
    if first.get("ok"):
        status, ledger = _approved(state, first, case)
    else:
        reasons = first["error"]["reasons"]
        code = denied_code([r["rule"] for r in reasons])
        if first["error"]["code"] == "not_found":
            code = "EM" if state.ledger.patient_state(patient_id) is None else "EC"
        denied = {
            "REMSCaseID": case,
            "DeniedReasonCode": code,
            "REMSNote": note(reasons, first["error"]["message"]),
        }
        status, ledger = {"Denied": denied}, {"reasons": reasons}
    if duplicate:
        ledger["duplicate"] = True
    return {"REMSReferenceID": reference, "Response": {"ResponseStatus": status}, "Ledger": ledger}


def _command(name: str, message_id: str, sent: str | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"command": name, "command_id": f"ncpdp:{message_id}", **fields}
    if sent is not None:
        body["at"] = sent
    return body


def _answer(state: ApiState, message_id: str, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {"Header": response_header(message_id, default_now(state.ledger)), "Body": body}
    )


async def message_problem(request: Request, error: MessageProblem) -> JSONResponse:
    """A refused pharmacy message in the API's envelope, with its own status (INTEROP.md §4);
    the app's exception handler of `MessageProblem` (a router holds none)."""
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    body = error_body(error.code, error.message)
    return JSONResponse(body, status_code=error.status, headers=headers)


router = APIRouter()
"""The three pharmacy messages (their refusals answered by `message_problem`)."""


@router.post("/ncpdp/rems-request", tags=["pharmacy"], response_model=None)
async def rems_request(request: Request) -> JSONResponse:
    """REMSRequest -> REMSResponse: a dispense confirmation (`request_dispense_confirmation`);
    Approved with the confirmation number, or Denied with every unmet rule."""
    principal = _pharmacy(request)
    message = await _message(request)
    message_id, sent = header(message)
    body = path(message, *REQUEST)
    reference = required_text(body, "REMSReferenceID")
    case = required_text(body, "Request", "SolicitedModel", "REMSCaseID")
    patient_id = required_text(body, *PATIENT_ID)
    supply = required_number(body, "MedicationPrescribed", "DaysSupply")
    check_product(body, "MedicationPrescribed")
    check_pharmacy(body, principal.subject)
    state: ApiState = request.app.state.api
    command = _command(
        "request_dispense_confirmation",
        message_id,
        sent,
        pharmacy_id=principal.subject,
        patient_id=patient_id,
        authorization_number=case,
        days_supply=supply,
    )
    result = state.execute(command, principal)
    if (error := _ledger_error(result)) is not None:
        return error
    answer = _rems_response(state, result, reference, case, patient_id)
    return _answer(state, message_id, {"REMSResponse": answer})


@router.post("/ncpdp/rems-initiation", tags=["pharmacy"], response_model=None)
async def rems_initiation(request: Request) -> JSONResponse:
    """REMSInitiationRequest -> REMSInitiationResponse: the patient's eligibility, read only.
    A pharmacy reads a patient whose authorization number it presents or for whom it holds
    a confirmation (RULES.md, pharmacy reads); any other patient is answered as unknown."""
    principal = _pharmacy(request)
    message = await _message(request)
    message_id, _ = header(message)
    body = path(message, *INITIATION)
    reference = required_text(body, "REMSReferenceID")
    patient_id = required_text(body, *PATIENT_ID)
    check_pharmacy(body, principal.subject)
    state: ApiState = request.app.state.api
    case = path(body, "Request", "SolicitedModel", "REMSCaseID")
    presented = isinstance(case, str) and patient_of_number(state.ledger, case) == patient_id
    now = default_now(state.ledger)
    try:
        read = read_patient(state.views, patient_id)
    except NotFound:
        read = None
    holds = read is not None and any(
        c.pharmacy_id == principal.subject for c in read.patient.confirmations
    )
    if read is None or not (presented or holds):
        closed = {
            "ReasonCode": "EM",
            "REMSNote": "EM: no enrolled patient matches, or no "
            "authorization number of this patient was presented.",
        }
        status: dict[str, Any] = {"Closed": closed}
        ledger: dict[str, Any] = {"reasons": []}
    else:
        at = state.views.decision_time(now)
        answer = eligibility_answer(read.patient, read.prescriber_of_record, at)
        if answer["eligible"] or open_authorization(read.patient, now):
            status = {
                "Open": {
                    "REMSPatientID": patient_id,
                    "REMSPatientRiskCategory": answer["risk_category"],
                }
            }
        else:
            reasons = answer["reasons"]
            status = {
                "Closed": {
                    "ReasonCode": denied_code([r["rule"] for r in reasons]),
                    "REMSNote": note(reasons, "Not eligible."),
                }
            }
        ledger = {"reasons": answer["reasons"], "risk_category": answer["risk_category"]}
    response = {
        "REMSReferenceID": reference,
        "Response": {"ResponseStatus": status},
        "Ledger": ledger,
    }
    return _answer(state, message_id, {"REMSInitiationResponse": response})


@router.post("/ncpdp/rx-fill", tags=["pharmacy"], response_model=None)
async def rx_fill(request: Request) -> JSONResponse:
    """RxFill (Dispensed) -> `record_dispense` by the confirmation number."""
    principal = _pharmacy(request)
    message = await _message(request)
    message_id, sent = header(message)
    body = path(message, "Body", "RxFill")
    if not isinstance(path(body, "FillStatus"), dict) or "Dispensed" not in body["FillStatus"]:
        msg = "RxFill.FillStatus: only Dispensed is recorded in this version."
        raise MessageProblem(422, "invalid", msg)
    confirmation = required_text(body, "REMSAuthorizationNumber")
    capsules = required_number(body, "MedicationDispensed", "Quantity", "Value")
    flags = {k: path(body, k) for k in ("MedicationGuideProvided", "Counseled")}
    if not all(isinstance(v, bool) for v in flags.values()):
        msg = "MedicationGuideProvided, Counseled: required booleans (D2, D3)."
        raise MessageProblem(422, "invalid", msg)
    check_pharmacy(body, principal.subject)
    state: ApiState = request.app.state.api
    command = _command(
        "record_dispense",
        message_id,
        sent,
        pharmacy_id=principal.subject,
        confirmation_number=confirmation,
        medication_guide_provided=flags["MedicationGuideProvided"],
        counseled=flags["Counseled"],
        capsules=capsules,
    )
    result = state.execute(command, principal)
    if (error := _ledger_error(result)) is not None:
        return error
    duplicate = result.get("error", {}).get("code") == "duplicate"
    first = result["original"] if duplicate else result
    if first.get("ok"):
        answer: dict[str, Any] = {"Status": {"Code": "000"}, "Ledger": dict(first)}
    else:
        reasons = first["error"]["reasons"]
        description = note(reasons, first["error"]["message"])
        answer = {
            "Error": {"Code": "EC", "Description": description},
            "Ledger": {"reasons": reasons},
        }
    if duplicate:
        answer["Ledger"]["duplicate"] = True
    return _answer(state, message_id, answer)
