"""Dispense confirmation and dispensing (D1, with A2, A4, P2, P3, R3, T7, T8, E6).

Readings (RULES.md): D1 always accompanies a confirmation denial; at confirmation the
authorization must be unexpired, unused and not voided, its prescriber still certified, the
patient's category unchanged since issue (a birthday alone is no change), the patient not
blocked, and the supply not above the authorization's. `record_dispense` re-checks the pharmacy,
the confirmation's owner and status, the authorization's expiry and the patient's blocks.
"""

from __future__ import annotations

from domain.calendar import day_of, within
from domain.categories import category_of
from domain.participants import ParticipantState
from domain.patient_state import (
    Authorization,
    AuthorizationStatus,
    Confirmation,
    ConfirmationStatus,
    PatientState,
)
from domain.reasons import Reason, merge
from domain.rules.context import DecisionTime
from domain.rules.duplicates import e8_reasons
from domain.rules.lapse import e6_reasons
from domain.rules.participants import pharmacy_reasons
from domain.rules.pregnancy_tests import t7_reasons, t8_reasons


def patient_block_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """The patient's blocking states: T7, T8 (FRP), E6, E8."""
    reasons = t7_reasons(patient)
    if category_of(patient, at.day, at.ruleset).is_frp:
        reasons += t8_reasons(patient, at)
    return reasons + e6_reasons(patient, at) + e8_reasons(patient)


def _expired(authorization: Authorization, at: DecisionTime) -> list[Reason]:
    if within(at.now, authorization.expires_at):
        return []
    return [
        Reason(
            rule="A2",
            message=f"Authorization {authorization.number} expired at "
            f"{authorization.expires_at.isoformat()}; the prescriber must obtain a new one.",
        )
    ]


def r3_reasons(
    patient: PatientState, authorization: Authorization, at: DecisionTime
) -> list[Reason]:
    """R3: the category changed since issue. A fact change counts; so does a girl recorded as
    not yet menstruating turning 18 (she becomes FRP that day: RULES.md, second round); a
    birthday that only changes child/adult does not."""
    issued_day = day_of(authorization.issued_at, at.tz)
    by_facts = category_of(patient, issued_day, at.ruleset) is not authorization.risk_category
    became_frp = (
        not authorization.risk_category.is_frp and category_of(patient, at.day, at.ruleset).is_frp
    )
    if not (by_facts or became_frp):
        return []
    return [
        Reason(
            rule="R3",
            message="The patient's risk category changed since the authorization was "
            f"issued (was {authorization.risk_category.value}); a new authorization is "
            "needed.",
        )
    ]


def _with_d1(reasons: list[Reason], message: str) -> list[Reason]:
    if not reasons:
        return []
    return merge([Reason(rule="D1", message=message), *reasons])


def confirmation_reasons(
    patient: PatientState,
    authorization: Authorization,
    pharmacy: ParticipantState | None,
    pharmacy_id: str,
    prescriber: ParticipantState | None,
    days_supply: int,
    at: DecisionTime,
) -> list[Reason]:
    """Every unmet rule for a dispense confirmation (empty = confirm)."""
    reasons = pharmacy_reasons(pharmacy, pharmacy_id)
    if authorization.status is AuthorizationStatus.VOIDED:
        reasons.append(
            Reason(
                rule="A4",
                message=f"Authorization {authorization.number} was voided by a newer "
                "authorization for this patient; use the newest one.",
            )
        )
    elif authorization.status is AuthorizationStatus.CONFIRMED:
        reasons.append(
            Reason(
                rule="A4",
                message=f"Authorization {authorization.number} was already used for a dispense "
                "confirmation; each authorization is used once.",
            )
        )
    reasons += _expired(authorization, at)
    if prescriber is None or not prescriber.certified:
        reasons.append(
            Reason(
                rule="P3",
                message=f"Prescriber {authorization.prescriber_id}, who obtained the "
                "authorization, is no longer certified.",
            )
        )
    reasons += r3_reasons(patient, authorization, at)
    reasons += patient_block_reasons(patient, at)
    if days_supply > authorization.days_supply:
        reasons.append(
            Reason(
                rule="D1",
                message=f"{days_supply} days supply exceeds the {authorization.days_supply} days "
                "the authorization allows.",
            )
        )
    return _with_d1(
        reasons,
        "The REMS cannot confirm this dispense: the pharmacy, the authorization and the "
        "patient must all be in good standing.",
    )


def foreign_authorization_reasons(
    patient: PatientState,
    authorization_number: str,
    pharmacy: ParticipantState | None,
    pharmacy_id: str,
    at: DecisionTime,
) -> list[Reason]:
    """D1 for an authorization number that is not this patient's, with every other unmet rule
    that can still be judged (the pharmacy, the patient's blocks)."""
    return merge(
        [
            Reason(
                rule="D1",
                message=f"Authorization {authorization_number} is not for patient "
                f"{patient.patient_id}.",
            ),
            *pharmacy_reasons(pharmacy, pharmacy_id),
            *patient_block_reasons(patient, at),
        ]
    )


def dispense_reasons(
    patient: PatientState,
    confirmation: Confirmation,
    authorization: Authorization,
    pharmacy: ParticipantState | None,
    pharmacy_id: str,
    at: DecisionTime,
) -> list[Reason]:
    """Every unmet rule for recording a dispense (empty = record it)."""
    reasons = pharmacy_reasons(pharmacy, pharmacy_id)
    if confirmation.status is ConfirmationStatus.VOIDED:
        reasons.append(
            Reason(
                rule="A4",
                message=f"Confirmation {confirmation.number} was voided by a newer "
                "authorization; it cannot be dispensed.",
            )
        )
    if confirmation.pharmacy_id != pharmacy_id:
        reasons.append(
            Reason(
                rule="D1",
                message=f"Confirmation {confirmation.number} was issued to another pharmacy.",
            )
        )
    reasons += _expired(authorization, at)
    reasons += r3_reasons(patient, authorization, at)
    reasons += patient_block_reasons(patient, at)
    return _with_d1(reasons, "This dispense cannot be recorded against the confirmation.")
