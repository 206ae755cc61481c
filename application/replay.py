"""Decision replay: re-run a recorded decision on the history as recorded just before it.

The patient is folded from its events up to the version the decision saw, each participant
from its events up to the version the decision recorded, under the rule-set version and time
zone the decision recorded, at the decision's own instant. `same` says whether the rule engine
reaches the identical outcome and reasons today.
"""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import ZoneInfo

from application.errors import InvalidCommand, NotFound
from application.ledger import Ledger
from application.program_ids import number, program_id
from domain.decision_events import (
    AuthorizationDenied,
    AuthorizationIssued,
    Decision,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)
from domain.participants import ParticipantState, project_participant
from domain.patient_events import PatientEvent, project_patient
from domain.patient_state import PatientState
from domain.registry import aggregate_id
from domain.rules.authorization import (
    AuthorizationOutcome,
    AuthorizationRequest,
    decide_authorization,
)
from domain.rules.confirmation import ConfirmationOutcome, ConfirmationRequest, decide_confirmation
from domain.rules.context import DecisionTime
from domain.rules.dispensing import DispenseOutcome, decide_dispense
from domain.ruleset import UnknownRuleSetError, ruleset_version


def find_decision(ledger: Ledger, reference: str) -> tuple[list[PatientEvent], Decision]:
    """The decision named by an authorization number, a confirmation number, or
    `PATIENT_ID@VERSION`; with its patient's events."""
    if "@" in reference:
        patient_text, _, version_text = reference.rpartition("@")
        if not (version_text.isascii() and version_text.isdigit()):
            msg = f"reference: {reference!r} is not PATIENT_ID@VERSION."
            raise InvalidCommand(msg, field="reference")
        patient_id = program_id(patient_text, "reference")
        events = _patient_events(ledger, patient_id)
        version = int(version_text)
        if not 1 <= version <= len(events) or not isinstance(events[version - 1], Decision):
            msg = f"Patient {patient_id} has no decision at version {version}."
            raise NotFound(msg)
        return events, cast(Decision, events[version - 1])
    reference = number(reference, "reference")
    kind = "confirmation" if reference.startswith("RC-") else "authorization"
    claim = ledger.claim(kind, reference)
    if claim is None:
        msg = f"No {kind} number {reference} exists."
        raise NotFound(msg)
    events = _patient_events(ledger, claim.patient_id)
    for event in events:
        if (isinstance(event, AuthorizationIssued) and event.authorization_number == reference) or (
            isinstance(event, DispenseConfirmed) and event.confirmation_number == reference
        ):
            return events, event
    msg = f"The decision that issued {reference} is not in patient {claim.patient_id}'s history."
    raise NotFound(msg)


def _patient_events(ledger: Ledger, patient_id: str) -> list[PatientEvent]:
    events = ledger.stored_events(aggregate_id("patient", patient_id))
    if not events:
        msg = f"Patient {patient_id} is not enrolled in the REMS."
        raise NotFound(msg)
    return [cast(PatientEvent, e) for e in events]


def _participant(
    ledger: Ledger, kind: str, participant_id: str, version: int | None
) -> ParticipantState | None:
    if version is None:
        return None
    events = ledger.stored_events(aggregate_id(kind, participant_id))[:version]
    return project_participant(None, cast(list[Any], events))


def replay_decision(ledger: Ledger, reference: str) -> dict[str, Any]:
    """`{"authorization_number" | "confirmation_number" | "reference", "type", "original",
    "replayed", "same"}` for one recorded decision (DESIGN.md: an RA- number answers under
    `authorization_number`, an RC- number under `confirmation_number`)."""
    events, decision = find_decision(ledger, reference)
    return {**_named(reference), **replay(ledger, events, decision)}


def _named(reference: str) -> dict[str, str]:
    if "@" in reference:
        patient_text, _, version = reference.rpartition("@")
        return {"reference": f"{program_id(patient_text, 'reference')}@{version}"}
    normalised = number(reference, "reference")
    key = "confirmation_number" if normalised.startswith("RC-") else "authorization_number"
    return {key: normalised}


def replay(ledger: Ledger, events: list[PatientEvent], decision: Decision) -> dict[str, Any]:
    """Re-run a decision from the history before it."""
    patient, at = decision_context(ledger, events, decision)
    original, replayed = _outcomes(decision, redecide(ledger, patient, decision, at))
    return {
        "type": decision.type_name,
        "patient_id": patient.patient_id,
        "decided_at": decision.timestamp.isoformat(),
        "ruleset_version": decision.ruleset_version,
        "original": original,
        "replayed": replayed,
        "same": original == replayed,
    }


def decision_context(
    ledger: Ledger, events: list[PatientEvent], decision: Decision
) -> tuple[PatientState, DecisionTime]:
    """The patient as the decision saw it, and the decision's instant, zone and rule set."""
    inputs = decision.inputs
    patient = project_patient(None, events[: inputs["patient_version"]])
    assert patient is not None, "a decision follows an enrollment"
    try:
        ruleset = ruleset_version(decision.ruleset_version)
    except UnknownRuleSetError:
        msg = f"Rule set {decision.ruleset_version} is unknown to this build."
        raise NotFound(msg) from None
    zone = inputs.get("timezone") or ledger.settings.timezone.key
    return patient, DecisionTime(now=decision.timestamp, tz=ZoneInfo(zone), ruleset=ruleset)


Redecided = AuthorizationOutcome | ConfirmationOutcome | DispenseOutcome


def redecide(
    ledger: Ledger, patient: PatientState, decision: Decision, at: DecisionTime
) -> Redecided:
    """The same domain decision the live handler took, on the facts the decision recorded."""
    if isinstance(decision, AuthorizationIssued | AuthorizationDenied):
        prescriber = _participant(
            ledger, "prescriber", decision.prescriber_id, decision.inputs["prescriber_version"]
        )
        request = AuthorizationRequest(
            prescriber_id=decision.prescriber_id,
            daily_dose_mg=decision.daily_dose_mg,
            days_supply=decision.days_supply,
            refills=decision.refills,
            channel=decision.channel,
        )
        return decide_authorization(patient, request, prescriber, at)
    assert isinstance(decision, DispenseConfirmed | DispenseDenied | DispenseRecorded)
    pharmacy = _participant(
        ledger, "pharmacy", decision.pharmacy_id, decision.inputs.get("pharmacy_version")
    )
    dispensing = isinstance(decision, DispenseRecorded) or (
        isinstance(decision, DispenseDenied) and decision.stage == "dispense"
    )
    if dispensing:
        confirmation = patient.confirmation(decision.confirmation_number or "")
        assert confirmation is not None
        authorization = patient.authorization(confirmation.authorization_number)
        assert authorization is not None
        return decide_dispense(
            patient, confirmation, authorization, pharmacy, decision.pharmacy_id, at
        )
    number = decision.authorization_number or ""
    authorization = patient.authorization(number)
    prescriber = (
        _participant(
            ledger,
            "prescriber",
            authorization.prescriber_id,
            decision.inputs.get("prescriber_version"),
        )
        if authorization
        else None
    )
    asked = ConfirmationRequest(
        pharmacy_id=decision.pharmacy_id,
        authorization_number=number,
        days_supply=decision.inputs["days_supply"],
    )
    return decide_confirmation(patient, asked, authorization, pharmacy, prescriber, at)


def _reasons(reasons: Any) -> list[dict[str, str]]:
    return [{"rule": r.rule, "message": r.message} for r in reasons]


def _outcomes(decision: Decision, outcome: Redecided) -> tuple[dict[str, Any], dict[str, Any]]:
    original_reasons = _reasons(getattr(decision, "reasons", ()))
    if isinstance(outcome, AuthorizationOutcome):
        assert isinstance(decision, AuthorizationIssued | AuthorizationDenied)
        replayed: dict[str, Any] = {
            "issued": outcome.issued,
            "risk_category": outcome.risk_category.value,
            "reasons": _reasons(outcome.reasons),
        }
        original: dict[str, Any] = {
            "issued": isinstance(decision, AuthorizationIssued),
            "risk_category": decision.risk_category.value,
            "reasons": original_reasons,
        }
        if isinstance(decision, AuthorizationIssued):
            original.update(expires_at=decision.expires_at, initial=decision.initial)
            replayed.update(expires_at=outcome.expires_at, initial=outcome.initial)
        return original, replayed
    original = {"confirmed": not isinstance(decision, DispenseDenied), "reasons": original_reasons}
    return original, {"confirmed": not outcome.reasons, "reasons": _reasons(outcome.reasons)}
