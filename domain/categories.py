"""Risk category from the enrollment facts (R1, R2); never typed in by hand."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.calendar import age_on, birthday, start_of_day
from domain.forms import ReproductiveFacts
from domain.patient_state import PatientState
from domain.ruleset import RuleSet
from domain.values import Menstruation, RiskCategory, Sex


def not_of_reproductive_potential(facts: ReproductiveFacts, age: int, ruleset: RuleSet) -> bool:
    """R1's FNRP list; it wins over the FRP list when both seem to apply.

    Reading (RULES.md): surgical menopause counts through hysterectomy/bilateral oophorectomy;
    chemical menopause is amenorrhea from treatment (FRP); natural menopause counts only as
    `menstruation: menopause` with at least 24 recorded months. Anything else is FRP.
    """
    if facts.hysterectomy or facts.bilateral_oophorectomy:
        return True
    if (
        facts.menstruation is Menstruation.MENOPAUSE
        and (facts.natural_menopause_months or 0) >= ruleset.natural_menopause_months
    ):
        return True
    return age < ruleset.adult_age and facts.menstruation is Menstruation.NOT_STARTED


def risk_category(
    sex: Sex,
    date_of_birth: date,
    facts: ReproductiveFacts | None,
    on: date,
    ruleset: RuleSet,
) -> RiskCategory:
    """The patient's category on a day (R2); ages are computed on that day."""
    age = age_on(date_of_birth, on)
    child = age < ruleset.adult_age
    if sex is Sex.MALE:
        return RiskCategory.MALE_CHILD if child else RiskCategory.ADULT_MALE
    fnrp = facts is not None and not_of_reproductive_potential(facts, age, ruleset)
    if child:
        return (
            RiskCategory.FEMALE_CHILD_NOT_REPRODUCTIVE_POTENTIAL
            if fnrp
            else RiskCategory.FEMALE_CHILD_REPRODUCTIVE_POTENTIAL
        )
    return (
        RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL
        if fnrp
        else RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL
    )


def category_of(patient: PatientState, on: date, ruleset: RuleSet) -> RiskCategory:
    """The patient's category on a day, from the facts recorded so far."""
    return risk_category(patient.sex, patient.date_of_birth, patient.facts, on, ruleset)


def became_frp_at(patient: PatientState, on: date, tz: ZoneInfo, ruleset: RuleSet) -> datetime:
    """When the patient last became FRP: the recorded fact change, or the 18th birthday of a
    girl recorded as not yet menstruating (she is FRP as an adult: the safer reading)."""
    since = patient.frp_since or patient.enrollment.enrolled_at
    facts = patient.facts
    if facts is not None and facts.menstruation is Menstruation.NOT_STARTED:
        turned_adult = start_of_day(birthday(patient.date_of_birth, ruleset.adult_age), tz)
        if turned_adult.date() <= on:
            since = max(since, turned_adult)
    return since
