"""The authorization decision (A1): every block rule, every unmet one listed.

Reading (RULES.md): a prescription is initial while no dispense has been recorded in the current
enrollment since the patient last became FRP (enrollment, R3 change, re-enrollment). T1, T2 and
S2 apply to initial prescriptions, S3 to subsequent ones, T6 to both.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime

from domain.base import Frozen
from domain.calendar import add_days, day_of, end_of_day
from domain.categories import became_frp_at, category_of
from domain.participants import ParticipantState
from domain.patient_state import PatientState
from domain.reasons import Reason, merge
from domain.rules.context import DecisionTime
from domain.rules.contraception import contraception_reasons
from domain.rules.duplicates import e8_reasons
from domain.rules.inputs import AuthorizationInputs
from domain.rules.lapse import e6_reasons
from domain.rules.participants import prescriber_reasons
from domain.rules.pregnancy_tests import (
    last_sensitive_negative,
    t1_reasons,
    t2_reasons,
    t6_reasons,
    t7_reasons,
    t8_reasons,
)
from domain.rules.surveys import k1_reasons, latest_survey, s2_reasons, s3_reasons
from domain.values import Channel, RiskCategory, Sex


class AuthorizationRequest(Frozen):
    """The prescriber survey (S1): who asks, and the prescription's dose and supply."""

    prescriber_id: str
    daily_dose_mg: float
    days_supply: int
    refills: int
    channel: Channel


class AuthorizationOutcome(Frozen):
    """What the rules concluded: unmet rules (empty = issue), and the prescription's terms."""

    reasons: tuple[Reason, ...]
    risk_category: RiskCategory
    initial: bool
    expires_at: AwareDatetime | None
    inputs: AuthorizationInputs

    @property
    def issued(self) -> bool:
        """Every block rule holds (and so the A2 expiry is known)."""
        return not self.reasons and self.expires_at is not None


def is_initial(patient: PatientState, category: RiskCategory, at: DecisionTime) -> bool:
    """Initial while no dispense since the enrollment or since the patient last became FRP."""
    since = (
        became_frp_at(patient, at.day, at.tz, at.ruleset)
        if category.is_frp
        else patient.enrollment.enrolled_at
    )
    return not any(
        d.dispensed_at >= since and d.dispensed_at <= at.now
        for d in patient.dispenses_in_current_enrollment()
    )


def a3_reasons(request: AuthorizationRequest, at: DecisionTime) -> list[Reason]:
    """A3: at most 28 days supply, no automatic refills, no telephone prescriptions."""
    reasons = []
    if request.days_supply > at.ruleset.max_days_supply:
        reasons.append(
            Reason(
                rule="A3",
                message=f"At most {at.ruleset.max_days_supply} days supply may be prescribed "
                f"({request.days_supply} requested).",
            )
        )
    if request.refills > at.ruleset.max_refills:
        reasons.append(Reason(rule="A3", message="No automatic refills are permitted."))
    if request.channel is Channel.TELEPHONE:
        reasons.append(Reason(rule="A3", message="Telephone prescriptions are not permitted."))
    return reasons


def decide_authorization(
    patient: PatientState,
    request: AuthorizationRequest,
    prescriber: ParticipantState | None,
    at: DecisionTime,
) -> AuthorizationOutcome:
    """Every unmet rule for this request at this time; the terms when none is unmet."""
    category = category_of(patient, at.day, at.ruleset)
    initial = is_initial(patient, category, at)
    reasons = prescriber_reasons(prescriber, request.prescriber_id)
    if request.prescriber_id != patient.prescriber_id:
        reasons.append(
            Reason(
                rule="P5",
                message=f"Only the prescriber of record ({patient.prescriber_id}) may request "
                "authorizations for this patient; use change_prescriber first.",
            )
        )
    reasons += e6_reasons(patient, at)
    reasons += e8_reasons(patient)
    reasons += a3_reasons(request, at)
    reasons += k1_reasons(patient)
    if patient.sex is Sex.FEMALE and initial:
        reasons += s2_reasons(patient, category, at)
    elif not initial:
        reasons += s3_reasons(patient, category, at)
    reasons += t7_reasons(patient)
    if category.is_frp:
        if initial:
            reasons += t1_reasons(patient, at)
            reasons += t2_reasons(patient, at)
        reasons += t6_reasons(patient, at)
        reasons += t8_reasons(patient, at)
        reasons += contraception_reasons(patient, at)
    last_test = last_sensitive_negative(patient, at) if category.is_frp else None
    expires_at = _expiry(category, last_test.collected_at if last_test else None, at)
    survey = latest_survey(patient, at)
    inputs = AuthorizationInputs(
        patient_version=patient.version,
        prescriber_version=prescriber.version if prescriber else None,
        last_negative_test_collected_at=last_test.collected_at if last_test else None,
        latest_survey_completed_at=survey.completed_at if survey else None,
        contraception_started_on=patient.contraception.started_on
        if patient.contraception
        else None,
        initial=initial,
        timezone=at.tz.key,
    )
    return AuthorizationOutcome(
        reasons=tuple(merge(reasons)),
        risk_category=category,
        initial=initial,
        expires_at=expires_at,
        inputs=inputs,
    )


def _expiry(
    category: RiskCategory, last_test_at: AwareDatetime | None, at: DecisionTime
) -> datetime | None:
    """A2: FRP through the 7th day after the last test; others through the 30th after issue."""
    if category.is_frp:
        if last_test_at is None:
            return None
        return end_of_day(add_days(day_of(last_test_at, at.tz), at.ruleset.a2_frp_days), at.tz)
    return end_of_day(add_days(at.day, at.ruleset.a2_other_days), at.tz)
