"""The decisions: authorization numbers, dispense confirmations and dispenses (A1-A4, D1-D3).

Every decision, issued or denied, is recorded with the rule-set version and its inputs.
"""

from __future__ import annotations

from typing import Any

from application.commands import RecordDispense, RequestAuthorization, RequestDispenseConfirmation
from application.errors import Denied, Duplicate
from application.handlers.supply import void_open_supply
from application.numbers import AUTHORIZATION_PREFIX, CONFIRMATION_PREFIX, new_number
from application.unit import Outcome, Unit
from domain.chain import NewAggregate
from domain.decision_events import (
    AuthorizationDenied,
    AuthorizationIssued,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)
from domain.patient_state import (
    ConfirmationStatus,
    Dispense,
)
from domain.reasons import Reason
from domain.registry import NumberClaimed, aggregate_id
from domain.rules.authorization import AuthorizationRequest, decide_authorization
from domain.rules.confirmation import ConfirmationRequest, decide_confirmation
from domain.rules.dispensing import decide_dispense


def _claim(unit: Unit, kind: str, number: str, patient_id: str) -> None:
    unit.record(
        NumberClaimed,
        NewAggregate(aggregate_id(kind, number)),
        number=number,
        kind=kind,
        patient_id=patient_id,
    )


def _denied(subject: str, reasons: list[Reason] | tuple[Reason, ...]) -> Denied:
    rules = ", ".join(r.rule for r in reasons)
    return Denied(f"{subject} denied: unmet {rules}.", list(reasons))


def request_authorization(unit: Unit, cmd: RequestAuthorization) -> Outcome:
    """Issue an authorization number when every block rule holds; else record the denial."""
    patient = unit.enrolled_patient(cmd.patient_id)
    prescriber = unit.prescriber(cmd.prescriber_id)
    request = AuthorizationRequest(
        prescriber_id=cmd.prescriber_id,
        daily_dose_mg=cmd.daily_dose_mg,
        days_supply=cmd.days_supply,
        refills=cmd.refills,
        channel=cmd.channel,
    )
    decision = decide_authorization(patient, request, prescriber, unit.at)
    terms: dict[str, Any] = {
        "ruleset_version": unit.at.ruleset.version,
        "inputs": decision.inputs.recorded(),
        "prescriber_id": cmd.prescriber_id,
        "daily_dose_mg": cmd.daily_dose_mg,
        "days_supply": cmd.days_supply,
        "refills": cmd.refills,
        "channel": cmd.channel,
        "risk_category": decision.risk_category,
    }
    if not decision.issued or decision.expires_at is None:  # the second test narrows the type
        unit.record(AuthorizationDenied, patient, reasons=decision.reasons, **terms)
        return Outcome(error=_denied("Authorization", decision.reasons))
    number = new_number(AUTHORIZATION_PREFIX)
    voided = void_open_supply(unit, patient, number)
    unit.record(
        AuthorizationIssued,
        patient,
        authorization_number=number,
        expires_at=decision.expires_at,
        initial=decision.initial,
        **terms,
    )
    _claim(unit, "authorization", number, cmd.patient_id)
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "authorization_number": number,
            "risk_category": decision.risk_category.value,
            "expires_at": decision.expires_at.isoformat(),
            "initial": decision.initial,
            "voided": voided,
        }
    )


def request_dispense_confirmation(unit: Unit, cmd: RequestDispenseConfirmation) -> Outcome:
    """Give a certified pharmacy a confirmation number for a valid authorization (D1)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    claim = unit.claim("authorization", cmd.authorization_number)
    pharmacy = unit.pharmacy(cmd.pharmacy_id)
    authorization = (
        patient.authorization(cmd.authorization_number)
        if claim.patient_id == cmd.patient_id
        else None
    )
    prescriber = unit.prescriber(authorization.prescriber_id) if authorization else None
    request = ConfirmationRequest(
        pharmacy_id=cmd.pharmacy_id,
        authorization_number=cmd.authorization_number,
        days_supply=cmd.days_supply,
    )
    decision = decide_confirmation(patient, request, authorization, pharmacy, prescriber, unit.at)
    common: dict[str, Any] = {
        "ruleset_version": unit.at.ruleset.version,
        "inputs": decision.inputs.recorded(),
        "pharmacy_id": cmd.pharmacy_id,
        "authorization_number": cmd.authorization_number,
    }
    if not decision.confirmed or authorization is None:  # the second test narrows the type
        unit.record(
            DispenseDenied,
            patient,
            stage="confirmation",
            reasons=decision.reasons,
            **common,
        )
        return Outcome(error=_denied("Dispense confirmation", decision.reasons))
    number = new_number(CONFIRMATION_PREFIX)
    unit.record(
        DispenseConfirmed,
        patient,
        confirmation_number=number,
        days_supply=cmd.days_supply,
        **common,
    )
    _claim(unit, "confirmation", number, cmd.patient_id)
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "confirmation_number": number,
            "authorization_number": cmd.authorization_number,
            "risk_category": authorization.risk_category.value,
            "days_supply": cmd.days_supply,
        }
    )


def record_dispense(unit: Unit, cmd: RecordDispense) -> Outcome:
    """Record the dispense against a confirmation; the second one is a duplicate (A4)."""
    claim = unit.claim("confirmation", cmd.confirmation_number)
    patient = unit.enrolled_patient(claim.patient_id)
    confirmation = patient.confirmation(cmd.confirmation_number)
    assert confirmation is not None, "a claimed confirmation is on its patient"
    authorization = patient.authorization(confirmation.authorization_number)
    assert authorization is not None, "a confirmation's authorization is on its patient"
    if confirmation.status is ConfirmationStatus.DISPENSED:
        dispense = next(
            d for d in patient.dispenses if d.confirmation_number == cmd.confirmation_number
        )
        msg = f"Confirmation {cmd.confirmation_number} was already dispensed."
        raise Duplicate(
            msg, original=_dispense_result(claim.patient_id, authorization.number, dispense)
        )
    pharmacy = unit.pharmacy(cmd.pharmacy_id)
    decision = decide_dispense(
        patient, confirmation, authorization, pharmacy, cmd.pharmacy_id, unit.at
    )
    common: dict[str, Any] = {
        "ruleset_version": unit.at.ruleset.version,
        "inputs": decision.inputs.recorded(),
        "pharmacy_id": cmd.pharmacy_id,
        "confirmation_number": cmd.confirmation_number,
        "authorization_number": authorization.number,
    }
    if not decision.recorded:
        unit.record(DispenseDenied, patient, stage="dispense", reasons=decision.reasons, **common)
        return Outcome(error=_denied("Dispense", decision.reasons))
    event = unit.record(
        DispenseRecorded,
        patient,
        capsules=cmd.capsules,
        medication_guide_provided=cmd.medication_guide_provided,
        counseled=cmd.counseled,
        **common,
    )
    dispensed = event.apply(patient).dispenses[-1]
    return Outcome(_dispense_result(claim.patient_id, authorization.number, dispensed, ok=False))


def _dispense_result(
    patient_id: str, authorization_number: str, dispense: Dispense, ok: bool = True
) -> dict[str, Any]:
    tracked = []
    if not dispense.medication_guide_provided:
        tracked.append({"rule": "D2", "message": "The Medication Guide must be dispensed with it."})
    if not dispense.counseled:
        tracked.append({"rule": "D3", "message": "The pharmacy must counsel the patient."})
    result: dict[str, Any] = {"ok": True} if ok else {}
    result.update(
        {
            "patient_id": patient_id,
            "confirmation_number": dispense.confirmation_number,
            "authorization_number": authorization_number,
            "dispensed_at": dispense.dispensed_at.isoformat(),
            "tracked": tracked,
        }
    )
    return result
