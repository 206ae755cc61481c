"""The dispense decision (D1, with A2, A4, P2, T7, T8, E6) and the checks it shares with the
confirmation decision (`domain.rules.confirmation`).

Reading (RULES.md): D1 always accompanies a denial; `record_dispense` re-checks the pharmacy, the
confirmation's owner and status, the authorization's expiry and the patient's blocks.
"""

from __future__ import annotations

from domain.base import Frozen
from domain.calendar import day_of, within
from domain.categories import category_of
from domain.participants import ParticipantState
from domain.patient_state import (
    Authorization,
    Confirmation,
    ConfirmationStatus,
    PatientState,
)
from domain.reasons import Reason, merge
from domain.rules.context import DecisionTime
from domain.rules.duplicates import e8_reasons
from domain.rules.inputs import DispenseInputs
from domain.rules.lapse import e6_reasons
from domain.rules.participants import pharmacy_reasons
from domain.rules.pregnancy_tests import t7_reasons, t8_reasons


def patient_block_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """The patient's blocking states: T7, T8 (FRP), E6, E8."""
    reasons = t7_reasons(patient)
    if category_of(patient, at.day, at.ruleset).is_frp:
        reasons += t8_reasons(patient, at)
    return reasons + e6_reasons(patient, at) + e8_reasons(patient)


def expired_reasons(authorization: Authorization, at: DecisionTime) -> list[Reason]:
    """A2: the authorization is used within its validity."""
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


def with_d1(reasons: list[Reason], message: str) -> list[Reason]:
    """D1 always accompanies a refusal to confirm or to dispense."""
    if not reasons:
        return []
    return merge([Reason(rule="D1", message=message), *reasons])


class DispenseOutcome(Frozen):
    """What the rules concluded on recording a dispense: unmet rules (empty = record it)."""

    reasons: tuple[Reason, ...]
    inputs: DispenseInputs

    @property
    def recorded(self) -> bool:
        """Every rule holds: the dispense is recorded."""
        return not self.reasons


def decide_dispense(
    patient: PatientState,
    confirmation: Confirmation,
    authorization: Authorization,
    pharmacy: ParticipantState | None,
    pharmacy_id: str,
    at: DecisionTime,
) -> DispenseOutcome:
    """Every unmet rule for recording a dispense against a confirmation, and what was read."""
    inputs = DispenseInputs(
        patient_version=patient.version,
        pharmacy_version=pharmacy.version if pharmacy else None,
        timezone=at.tz.key,
    )
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
    reasons += expired_reasons(authorization, at)
    reasons += r3_reasons(patient, authorization, at)
    reasons += patient_block_reasons(patient, at)
    judged = with_d1(reasons, "This dispense cannot be recorded against the confirmation.")
    return DispenseOutcome(reasons=tuple(judged), inputs=inputs)
