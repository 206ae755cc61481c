"""Patient surveys (S2, S3) and counseling (K1).

Readings (RULES.md): a latest survey with `compliant: false` blocks until a compliant one;
"monthly" is within the 30 days before the decision date, inclusive; "every 6 months" is within
the 6 calendar months before (month ends clip). K1 holds when the counseling records of the
current enrollment together cover all nine topics.
"""

from __future__ import annotations

from datetime import date

from domain.calendar import add_days, add_months, day_of
from domain.categories import became_frp_at
from domain.patient_state import PatientState, Survey
from domain.reasons import Reason
from domain.rules.context import DecisionTime
from domain.values import CounselingTopic, RiskCategory


def latest_survey(patient: PatientState, at: DecisionTime) -> Survey | None:
    """The latest survey of the current enrollment completed by the decision."""
    surveys = [
        s
        for s in patient.surveys
        if s.enrollment == patient.enrollment.number and s.completed_at <= at.now
    ]
    return max(surveys, key=lambda s: s.completed_at, default=None)


def s2_reasons(patient: PatientState, category: RiskCategory, at: DecisionTime) -> list[Reason]:
    """S2: a female patient's initial survey, current and compliant, before her first
    prescription. Current (RULES.md, second round): completed since she last became FRP (FRP)
    or since the current enrollment (others), and within the category's S3 window."""
    survey = latest_survey(patient, at)
    since = (
        became_frp_at(patient, at.day, at.tz, at.ruleset)
        if category.is_frp
        else patient.enrollment.enrolled_at
    )
    if survey is None:
        return [
            Reason(
                rule="S2",
                message="The patient has not completed her initial survey; she must complete "
                "it before the first prescription.",
            )
        ]
    oldest = s3_oldest_day(category, at)
    if survey.completed_at < since or day_of(survey.completed_at, at.tz) < oldest:
        return [
            Reason(
                rule="S2",
                message="The patient's initial survey is not current: one completed since "
                f"{since.isoformat()} and on or after {oldest.isoformat()} is needed before "
                "the first prescription.",
            )
        ]
    if not survey.compliant:
        return [
            Reason(
                rule="S2",
                message="The patient's latest survey was not compliant; a compliant survey is "
                "needed.",
            )
        ]
    return []


def s3_oldest_day(category: RiskCategory, at: DecisionTime) -> date:
    """The earliest completion date of a survey that is current for the category."""
    if category is RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL:
        return add_months(at.day, -at.ruleset.s3_fnrp_months)
    return add_days(at.day, -at.ruleset.s3_monthly_days)


def s3_reasons(patient: PatientState, category: RiskCategory, at: DecisionTime) -> list[Reason]:
    """S3: before a subsequent prescription the patient's survey is current and compliant."""
    oldest = s3_oldest_day(category, at)
    every = (
        f"every {at.ruleset.s3_fnrp_months} months"
        if category is RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL
        else "monthly"
    )
    survey = latest_survey(patient, at)
    if survey is None or day_of(survey.completed_at, at.tz) < oldest:
        return [
            Reason(
                rule="S3",
                message=f"The patient's survey is due {every} for a {category.value} patient: "
                f"one completed on or after {oldest.isoformat()} is needed.",
            )
        ]
    if not survey.compliant:
        return [
            Reason(
                rule="S3",
                message="The patient's latest survey was not compliant; a compliant survey is "
                "needed.",
            )
        ]
    return []


def k1_missing(patient: PatientState) -> list[CounselingTopic]:
    """Counseling topics not yet covered in the current enrollment."""
    return [t for t in CounselingTopic if t not in patient.counseling_topics]


def k1_reasons(patient: PatientState) -> list[Reason]:
    """K1: comprehensive counseling on all nine topics before the first authorization."""
    missing = k1_missing(patient)
    if not missing:
        return []
    return [
        Reason(
            rule="K1",
            message="Counseling is incomplete; still to cover: "
            f"{', '.join(t.value for t in missing)}.",
        )
    ]
