"""Read-side answers: eligibility ("would an authorization be issued at T?") and history."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from application.bounds import LAST_DAY, instant_in_bounds
from application.command_time import system_now
from application.errors import InvalidCommand, NotFound
from application.ledger import Ledger
from application.program_ids import program_id
from domain.answer_validity import judgement_stands_until
from domain.base import LedgerEvent
from domain.participants import ParticipantState, project_participant
from domain.patient_fold import PatientEvent, project_patient
from domain.patient_state import PatientState
from domain.registry import aggregate_id
from domain.rules.authorization import AuthorizationRequest, decide_authorization
from domain.rules.context import DecisionTime
from domain.schedule import next_due
from domain.values import Channel
from infra.settings import ClockMode

HIDDEN_IN_HISTORY = frozenset({"originator_id", "originator_version", "timestamp"})


def parse_as_of(text: str, ledger: Ledger) -> datetime:
    """An ISO instant with offset, or a bare date meaning the end of that day (program zone)."""
    tz = ledger.settings.timezone
    try:
        if len(text.strip()) == len("YYYY-MM-DD"):
            instant = datetime.combine(date.fromisoformat(text.strip()), time.max, tz)
        else:
            instant = datetime.fromisoformat(text)
    except ValueError:
        msg = f"as-of: {text!r} is not an ISO date or date-time."
        raise InvalidCommand(msg, field="as_of") from None
    if instant.tzinfo is None:
        msg = f"as-of: {text!r} needs a UTC offset (e.g. 2026-03-01T09:00:00-05:00)."
        raise InvalidCommand(msg, field="as_of")
    if not instant_in_bounds(instant, tz):
        msg = (
            f"as-of: {text!r} is out of bounds; a query's time lies between 1900-01-01 and "
            f"{LAST_DAY.isoformat()} ({tz.key})."
        )
        raise InvalidCommand(msg, field="as_of")
    return _after_ledger_began(instant, ledger)


def _after_ledger_began(instant: datetime, ledger: Ledger) -> datetime:
    first = ledger.first_recorded_at()
    if first is None or instant < first:
        began = first.isoformat() if first else "nothing is recorded yet"
        msg = f"as-of: {instant.isoformat()} is before the ledger existed ({began})."
        raise InvalidCommand(msg, field="as_of")
    return instant


def default_now(ledger: Ledger) -> datetime:
    """Now: the server clock, or under the event clock the ledger's last recorded `at`."""
    if ledger.settings.clock is ClockMode.EVENT and ledger.last_recorded_at is not None:
        return ledger.last_recorded_at
    return system_now()


def _events_known_at(ledger: Ledger, kind: str, program_id: str, as_of: datetime) -> list[Any]:
    events = ledger.stored_events(aggregate_id(kind, program_id))
    return [e for e in events if e.timestamp <= as_of]


def eligibility(ledger: Ledger, patient_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    """Would an authorization be issued at `as_of` to the prescriber of record (28 days, no
    refills, electronic)? Judged on what the ledger had recorded by then."""
    patient_id = program_id(patient_id, "patient_id")
    now = as_of or default_now(ledger)
    patient = project_patient(None, _events_known_at(ledger, "patient", patient_id, now))
    if patient is None:
        msg = f"Patient {patient_id} is not enrolled in the REMS (as of {now.isoformat()})."
        raise NotFound(msg)
    prescriber_events = _events_known_at(ledger, "prescriber", patient.prescriber_id, now)
    prescriber: ParticipantState | None = project_participant(None, prescriber_events)
    at = DecisionTime.in_force(now, ledger.settings.timezone)
    return eligibility_answer(patient, prescriber, at)


def eligibility_answer(
    patient: PatientState, prescriber: ParticipantState | None, at: DecisionTime
) -> dict[str, Any]:
    """The answer for a request by the prescriber of record, 28 days, no refills, electronic."""
    request = AuthorizationRequest(
        prescriber_id=patient.prescriber_id,
        daily_dose_mg=10,
        days_supply=28,
        refills=0,
        channel=Channel.ELECTRONIC,
    )
    decision = decide_authorization(patient, request, prescriber, at)
    return {
        "patient_id": patient.patient_id,
        "as_of": at.now.isoformat(),
        "eligible": decision.issued,
        "risk_category": decision.risk_category.value,
        "initial": decision.initial,
        "reasons": [r.model_dump() for r in decision.reasons],
        "next_due": next_due(patient, at),
    }


def eligibility_stands_until(
    patient: PatientState,
    prescriber: ParticipantState | None,
    at: DecisionTime,
    answer: dict[str, Any],
) -> datetime:
    """Until when (exclusive) `answer`, judged at `at`, is what the same states would be
    answered, `as_of` aside (`domain.answer_validity`); `at.now` when that is not known."""
    until = judgement_stands_until(at, patient, prescriber)
    last = until - timedelta(microseconds=1)
    if last <= at.now:
        return at.now
    later = eligibility_answer(patient, prescriber, DecisionTime.in_force(last, at.tz))
    return until if {**later, "as_of": answer["as_of"]} == answer else at.now


def history(ledger: Ledger, patient_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    """Every event of the patient in recorded order, with `occurred_at` and `recorded_at`;
    with `as_of`, only what the ledger had recorded by then."""
    patient_id = program_id(patient_id, "patient_id")
    events: list[LedgerEvent] = ledger.stored_events(aggregate_id("patient", patient_id))
    if not events:
        msg = f"Patient {patient_id} is not enrolled in the REMS."
        raise NotFound(msg)
    if as_of is not None:
        events = [e for e in events if e.timestamp <= as_of]
    return {
        "patient_id": patient_id,
        "events": [_history_entry(e) for e in events if isinstance(e, PatientEvent)],
    }


def _history_entry(event: LedgerEvent) -> dict[str, Any]:
    body = event.model_dump(mode="json", exclude=set(HIDDEN_IN_HISTORY))
    return {
        "type": event.type_name,
        "version": event.originator_version,
        "occurred_at": body.pop("occurred_at"),
        "recorded_at": event.timestamp.isoformat(),
        **body,
    }
