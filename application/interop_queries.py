"""Read-only questions the interop adapters ask (INTEROP.md §1.4). They record nothing.

- `would_authorize`: the eligibility answer judged by `decide_authorization` on the order's real
  terms (prescriber, dose, supply, refills, channel), so order-sign can show A3 and P5;
- `open_authorization`: the patient's issued, unexpired, unused, not voided authorization (A2, A4);
- `patient_of_number`: the patient an `RA-`/`RC-` number was issued for, from the claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.errors import NotFound
from application.ledger import Ledger
from application.queries import default_now, eligibility, eligibility_answer
from application.views import Views
from domain.participants import ParticipantState
from domain.patient_events import PatientEvent, project_patient
from domain.patient_state import AuthorizationStatus, PatientState
from domain.registry import aggregate_id
from domain.rules.authorization import AuthorizationRequest, decide_authorization
from domain.schedule import next_due
from domain.values import Channel
from projections.eligibility import load_participant, load_patient

NUMBER_KINDS = {"RA": "authorization", "RC": "confirmation"}
_CROCKFORD_READING = str.maketrans({"I": "1", "L": "1", "O": "0"})


@dataclass(frozen=True)
class OrderTerms:
    """What an order asks for: the terms `request_authorization` would be judged on."""

    prescriber_id: str
    daily_dose_mg: float
    days_supply: int
    refills: int
    channel: Channel = Channel.ELECTRONIC


@dataclass(frozen=True)
class PatientRead:
    """A patient and the participants an answer needs, read from the read model at once."""

    patient: PatientState
    prescriber_of_record: ParticipantState | None
    requester: ParticipantState | None


def read_patient(views: Views, patient_id: str, requester_id: str | None = None) -> PatientRead:
    """The patient's read-model state (NotFound when never enrolled), its prescriber of record
    and, when given, the requesting prescriber."""
    views.runner.catch_up()
    with views.database.transaction() as cursor:
        patient = load_patient(cursor, patient_id, views.sealer)
        if patient is None:
            msg = f"Patient {patient_id} is not enrolled in the REMS."
            raise NotFound(msg)
        of_record = load_participant(cursor, str(aggregate_id("prescriber", patient.prescriber_id)))
        requester = (
            load_participant(cursor, str(aggregate_id("prescriber", requester_id)))
            if requester_id is not None
            else None
        )
    return PatientRead(patient, of_record, requester)


def would_authorize(
    views: Views, patient_id: str, terms: OrderTerms, now: datetime
) -> dict[str, Any]:
    """Would `request_authorization` with these terms be issued at `now`? The eligibility shape
    (`eligible`, `risk_category`, `initial`, `reasons`, `next_due`); records nothing."""
    read = read_patient(views, patient_id, terms.prescriber_id)
    at = views.decision_time(now)
    request = AuthorizationRequest(
        prescriber_id=terms.prescriber_id,
        daily_dose_mg=terms.daily_dose_mg,
        days_supply=terms.days_supply,
        refills=terms.refills,
        channel=terms.channel,
    )
    decision = decide_authorization(read.patient, request, read.requester, at)
    return {
        "patient_id": read.patient.patient_id,
        "as_of": at.now.isoformat(),
        "eligible": decision.issued,
        "risk_category": decision.risk_category.value,
        "initial": decision.initial,
        "reasons": [r.model_dump() for r in decision.reasons],
        "next_due": next_due(read.patient, at),
        "ruleset_version": at.ruleset.version,
    }


def open_authorization(patient: PatientState, now: datetime) -> dict[str, Any] | None:
    """The open supply (A4: at most one): issued, unexpired (A2), not confirmed, not voided."""
    for authorization in reversed(patient.authorizations):
        if authorization.status is AuthorizationStatus.ISSUED and authorization.expires_at >= now:
            return {
                "number": authorization.number,
                "expires_at": authorization.expires_at,
                "risk_category": authorization.risk_category.value,
            }
    return None


def normalise_number(text: str) -> str | None:
    """An `RA-`/`RC-` number read case-insensitively in Crockford base32, or None if it is not
    shaped like one."""
    value = text.strip().upper()
    prefix, _, rest = value.partition("-")
    if prefix not in NUMBER_KINDS or not rest:
        return None
    groups = rest.translate(_CROCKFORD_READING).split("-")
    if len(groups) != 3 or any(len(g) != 4 or not g.isalnum() for g in groups):
        return None
    return f"{prefix}-{'-'.join(groups)}"


def patient_of_number(ledger: Ledger, number: str) -> str | None:
    """The patient an authorization (`RA-`) or confirmation (`RC-`) number belongs to."""
    normal = normalise_number(number)
    if normal is None:
        return None
    claim = ledger.claim(NUMBER_KINDS[normal[:2]], normal)
    return claim.patient_id if claim else None


def answer_for(
    views: Views, patient_id: str, as_of: datetime | None
) -> tuple[dict[str, Any], PatientState]:
    """The eligibility answer (with `ruleset_version`) and the patient's state, now from the
    read model, or as the ledger knew it at `as_of` (auditors)."""
    if as_of is None:
        now = default_now(views.ledger)
        read = read_patient(views, patient_id)
        at = views.decision_time(now)
        answer = eligibility_answer(read.patient, read.prescriber_of_record, at)
        return {**answer, "ruleset_version": at.ruleset.version}, read.patient
    answer = eligibility(views.ledger, patient_id, as_of)
    events = views.ledger.stored_events(aggregate_id("patient", patient_id))
    known = [e for e in events if isinstance(e, PatientEvent) and e.timestamp <= as_of]
    patient = project_patient(None, known)
    assert patient is not None, "eligibility answered, so the patient existed then"
    at = views.decision_time(as_of)
    return {**answer, "ruleset_version": at.ruleset.version}, patient
