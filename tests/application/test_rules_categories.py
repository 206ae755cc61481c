"""R1, R2, R3: the risk category, decided by the recorded facts and the age on the decision day."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.categories import risk_category
from domain.forms import ReproductiveFacts
from domain.ruleset import ruleset_in_force
from domain.values import Menstruation, RiskCategory, Sex
from tests.application.helpers_rules import (
    assert_denial_recorded,
    assert_denied,
    assert_invalid,
    last_event,
    number,
)
from tests.program import Program

RULESET = ruleset_in_force(date(2026, 3, 1))
ADULT_DOB = date(1990, 5, 1)
CHILD_DOB = date(2012, 1, 1)
GUARDIAN = {"name": "Gail Guardian", "signed": True, "signed_on": "2026-03-01"}
FRP = RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL
FNRP = RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL


def category(facts: dict[str, Any], dob: date = ADULT_DOB, on: date = date(2026, 3, 1)) -> str:
    """The category of a female with these facts on a day."""
    return risk_category(Sex.FEMALE, dob, ReproductiveFacts(**facts), on, RULESET).value


# -- R1: reproductive potential --------------------------------------------------------------


@pytest.mark.parametrize(
    "menstruation",
    [
        Menstruation.REGULAR,
        Menstruation.IRREGULAR,
        Menstruation.AMENORRHEIC_FROM_TREATMENT,
        Menstruation.PERIMENOPAUSAL,
    ],
)
def test_R1_menstruating_amenorrheic_or_perimenopausal_adults_are_frp(
    menstruation: Menstruation,
) -> None:
    """Menstruating, amenorrheic from treatment or perimenopausal adults are FRP."""
    assert category({"menstruation": menstruation}) == FRP


def test_R1_natural_menopause_of_24_months_is_fnrp() -> None:
    """Natural menopause for 24 consecutive months makes the patient FNRP."""
    assert category({"menstruation": "menopause", "natural_menopause_months": 24}) == FNRP


def test_R1_natural_menopause_of_23_months_is_still_frp() -> None:
    """Natural menopause short of 24 months leaves the patient FRP."""
    assert category({"menstruation": "menopause", "natural_menopause_months": 23}) == FRP


def test_R1_surgical_or_chemical_menopause_months_alone_do_not_make_fnrp() -> None:
    """Surgical/chemical menopause months without hysterectomy or oophorectomy stay FRP."""
    facts = {"menstruation": "menopause", "surgical_or_chemical_menopause_months": 60}
    assert category(facts) == FRP


@pytest.mark.parametrize("surgery", ["hysterectomy", "bilateral_oophorectomy"])
def test_R1_surgery_makes_fnrp_even_when_menstruating_is_stated(surgery: str) -> None:
    """Hysterectomy or bilateral oophorectomy wins over the FRP list."""
    assert category({"menstruation": "regular", surgery: True}) == FNRP


def test_R1_a_girl_who_has_not_started_menstruating_is_fnrp() -> None:
    """A female child not yet menstruating is not of reproductive potential."""
    facts = {"menstruation": "not_started"}
    assert category(facts, dob=CHILD_DOB) == "female_child_not_reproductive_potential"


def test_R1_an_adult_recorded_as_not_started_is_frp() -> None:
    """'Not started' is an FNRP criterion for children only; an adult matching neither is FRP."""
    assert category({"menstruation": "not_started"}) == FRP


def test_R1_allows_an_fnrp_authorization_without_tests_or_contraception(
    program: Program,
) -> None:
    """An FNRP adult needs no pregnancy tests or contraception for an authorization."""
    program.enroll(menstruation="menopause", natural_menopause_months=30)
    program.counsel()
    program.survey()
    result = program.authorize()
    assert result["ok"], result
    assert result["risk_category"] == FNRP


def test_R1_denies_a_patient_short_of_24_months_menopause_as_frp(program: Program) -> None:
    """23 months of natural menopause is FRP: tests and contraception are required."""
    program.enroll(menstruation="menopause", natural_menopause_months=23)
    program.counsel()
    program.survey()
    assert_denied(program.authorize(), "T1", "T2", "T6", "C1", "C2")


# -- R2: six categories, child under 18 -------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "facts", "expected"),
    [
        (Sex.FEMALE, {"menstruation": "regular"}, "female_child_reproductive_potential"),
        (Sex.FEMALE, {"menstruation": "not_started"}, "female_child_not_reproductive_potential"),
        (Sex.MALE, None, "male_child"),
    ],
)
def test_R2_is_a_child_the_day_before_the_18th_birthday(
    sex: Sex, facts: dict[str, Any] | None, expected: str
) -> None:
    """The day before turning 18 the patient is in a child category."""
    dob = date(2008, 3, 14)
    given = ReproductiveFacts(**facts) if facts else None
    assert risk_category(sex, dob, given, date(2026, 3, 13), RULESET).value == expected


@pytest.mark.parametrize(
    ("sex", "facts", "expected"),
    [
        (Sex.FEMALE, {"menstruation": "regular"}, "adult_female_reproductive_potential"),
        (Sex.FEMALE, {"menstruation": "menopause", "natural_menopause_months": 30}, FNRP),
        (Sex.MALE, None, "adult_male"),
    ],
)
def test_R2_is_an_adult_from_the_18th_birthday(
    sex: Sex, facts: dict[str, Any] | None, expected: str
) -> None:
    """From the 18th birthday the patient is in an adult category."""
    dob = date(2008, 3, 14)
    given = ReproductiveFacts(**facts) if facts else None
    assert risk_category(sex, dob, given, date(2026, 3, 14), RULESET).value == expected


def test_R2_a_leap_day_birthday_turns_18_on_march_1() -> None:
    """Born on February 29, the patient is a child on February 28 and an adult on March 1."""
    dob = date(2008, 2, 29)
    assert risk_category(Sex.MALE, dob, None, date(2026, 2, 28), RULESET).value == "male_child"
    assert risk_category(Sex.MALE, dob, None, date(2026, 3, 1), RULESET).value == "adult_male"


def test_R2_carries_the_child_category_on_an_authorization_the_day_before_18(
    program: Program,
) -> None:
    """An authorization the day before the 18th birthday carries male_child."""
    program.enroll(sex="male", date_of_birth="2008-03-05", guardian=GUARDIAN)
    program.counsel()
    program.at("2026-03-04 23:59:59")
    result = program.authorize()
    assert result["risk_category"] == "male_child"
    assert last_event(program, "AuthorizationIssued")["risk_category"] == "male_child"


def test_R2_carries_the_adult_category_on_an_authorization_from_the_18th_birthday(
    program: Program,
) -> None:
    """An authorization on the 18th birthday carries adult_male."""
    program.enroll(sex="male", date_of_birth="2008-03-05", guardian=GUARDIAN)
    program.counsel()
    program.at("2026-03-05 00:00:00")
    result = program.authorize()
    assert result["risk_category"] == "adult_male"
    confirmation = program.confirm(result["authorization_number"])
    assert confirmation["risk_category"] == "adult_male"


def girl_after_hysterectomy_filled(program: Program) -> None:
    """A girl (18 on 2026-04-05) with a hysterectomy, surveyed and first filled on 03-01."""
    program.enroll(date_of_birth="2008-04-05", guardian=GUARDIAN, hysterectomy=True)
    program.counsel()
    program.survey()
    program.fill()


def test_R2_denies_a_girl_a_34_day_old_survey_as_a_monthly_child_category(
    program: Program,
) -> None:
    """The day before her 18th birthday she is a female child: her survey is due monthly."""
    girl_after_hysterectomy_filled(program)
    program.at("2026-04-04 09:00")
    assert_denied(program.authorize(), "S3")
    assert_denial_recorded(program, "AuthorizationDenied", "S3")
    recorded = last_event(program, "AuthorizationDenied")
    assert recorded["risk_category"] == "female_child_not_reproductive_potential"


def test_R2_allows_the_same_survey_from_her_18th_birthday_as_an_adult_fnrp(
    program: Program,
) -> None:
    """From her 18th birthday she is an adult FNRP: a survey within 6 months is current."""
    girl_after_hysterectomy_filled(program)
    program.at("2026-04-05 09:00")
    result = program.authorize()
    assert result["ok"], result
    assert result["risk_category"] == FNRP


# -- R3: a change of facts changes the category from the moment it is recorded --------------


def test_R3_denies_confirming_an_frp_authorization_after_a_hysterectomy_is_recorded(
    program: Program,
) -> None:
    """A hysterectomy recorded after issue changes the category: the confirmation is R3, D1."""
    program.ready_frp()
    auth = number(program.authorize())
    program.advance(hours=1)
    changed = program.run("update_reproductive_status", patient_id="PAT1", hysterectomy=True)
    assert changed["ok"], changed
    assert changed["risk_category"] == FNRP
    assert changed["changed"] is True
    program.advance(hours=1)
    assert_denied(program.confirm(auth), "D1", "R3")


def test_R3_allows_a_new_authorization_under_the_new_category(program: Program) -> None:
    """After the hysterectomy a new authorization carries FNRP and a 30-day validity."""
    program.ready_frp()
    program.ok("update_reproductive_status", patient_id="PAT1", hysterectomy=True)
    result = program.authorize()
    assert result["ok"], result
    assert result["risk_category"] == FNRP
    assert result["expires_at"] == "2026-04-12T23:59:59-04:00"


def test_R3_allows_confirming_after_a_birthday_alone(program: Program) -> None:
    """A girl's 18th birthday between issue and confirmation is no category change."""
    program.ready_frp(date_of_birth="2008-03-14", guardian=GUARDIAN)
    result = program.authorize()
    assert result["risk_category"] == "female_child_reproductive_potential"
    program.at("2026-03-14 09:00")
    confirmation = program.confirm(result["authorization_number"])
    assert confirmation["ok"], confirmation
    assert confirmation["risk_category"] == "female_child_reproductive_potential"


def test_R3_denies_confirming_an_fnrp_child_authorization_on_her_18th_birthday(
    program: Program,
) -> None:
    """A not-yet-menstruating girl becomes FRP on her 18th birthday, an R3 change (RULES.md,
    second round): her FNRP-child authorization is no longer confirmed (D1, R3)."""
    program.enroll(date_of_birth="2008-03-05", guardian=GUARDIAN, menstruation="not_started")
    program.counsel()
    program.survey()
    program.at("2026-03-04 12:00")
    result = program.authorize()
    assert result["risk_category"] == "female_child_not_reproductive_potential"
    program.at("2026-03-05 12:00")
    assert_denied(program.confirm(result["authorization_number"]), "D1", "R3")


def test_R3_denies_confirming_a_child_authorization_after_menarche_is_recorded(
    program: Program,
) -> None:
    """A girl starting to menstruate after issue changes the category: R3 and D1."""
    program.enroll(date_of_birth="2012-01-01", guardian=GUARDIAN, menstruation="not_started")
    program.counsel()
    program.survey()
    auth = number(program.authorize())
    program.advance(days=1)
    changed = program.run("update_reproductive_status", patient_id="PAT1", menstruation="regular")
    assert changed["ok"], changed
    assert changed["risk_category"] == "female_child_reproductive_potential"
    assert_denied(program.confirm(auth), "D1", "R3")


def test_R3_denies_after_menarche_until_the_frp_initial_rules_are_met(program: Program) -> None:
    """After menarche the girl is FRP: her next prescription is initial again (T1, T2, C...),
    and the survey from before she became FRP is no longer current (S2, second round)."""
    program.enroll(date_of_birth="2012-01-01", guardian=GUARDIAN, menstruation="not_started")
    program.counsel()
    program.survey()
    program.fill()
    program.advance(days=1)
    changed = program.run("update_reproductive_status", patient_id="PAT1", menstruation="regular")
    assert changed["ok"], changed
    assert_denied(program.authorize(), "C1", "C2", "S2", "T1", "T2", "T6")


def test_R3_a_reproductive_update_for_a_male_patient_is_invalid(program: Program) -> None:
    """Menstrual facts for a male patient are invalid input, not a category change."""
    program.ready_male()
    result = program.run("update_reproductive_status", patient_id="PAT1", hysterectomy=True)
    assert_invalid(result, "hysterectomy")
