"""E1, E2, E3, E4, E6, E7: the Patient-Physician Agreement Form and the enrollment's life."""

from __future__ import annotations

from typing import Any

import pytest

from tests.application.helpers_rules import (
    assert_denied,
    assert_error,
    assert_invalid,
    event_types,
    number,
)
from tests.program import Program

GUARDIAN = {"name": "Gail Guardian", "signed": True, "signed_on": "2026-03-01"}
REPRESENTATIVE = {
    "name": "Rita Rep",
    "address": "4 Oak St, Summit NJ",
    "relationship": "daughter",
    "power_of_attorney": False,
    "signed": True,
    "signed_on": "2026-02-28",
}
LETTER = {
    "on_letterhead": True,
    "signed_on": "2026-02-27",
    "incapacity_statement": "unable to understand the risks of therapy",
    "medical_condition": "advanced dementia",
    "representative_name": "Rita Rep",
    "representative_address": "4 Oak St, Summit NJ",
    "relationship": "daughter",
    "accepts_responsibility": True,
}
MINOR_DOB = "2008-03-02"
"""17 on 2026-03-01 (the program's first day); 18 the next day."""


def reason_text(result: dict[str, Any], rule: str) -> str:
    """The message of a denial's reason for one rule."""
    return next(r["message"] for r in result["error"]["reasons"] if r["rule"] == rule)


# -- E1: both signatures and every statement box ---------------------------------------------


def test_E1_allows_a_complete_form(program: Program) -> None:
    """A form signed by patient and prescriber with every box marked enrolls the patient."""
    result = program.enroll()
    assert result["ok"], result
    assert result["enrollment"] == 1
    assert event_types(program) == ["PatientEnrolled"]


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("patient_signed", "patient has not signed"),
        ("prescriber_signed", "prescriber has not signed"),
        ("all_statements_marked", "statement box"),
    ],
)
def test_E1_denies_an_incomplete_form_naming_the_missing_item(
    program: Program, missing: str, named: str
) -> None:
    """A missing signature or unmarked statement rejects the form, naming what is missing."""
    form: dict[str, Any] = {missing: False}
    result = program.enroll(**form)
    assert_denied(result, "E1")
    assert named in reason_text(result, "E1")
    assert_error(
        program.run("record_patient_survey", patient_id="PAT1", compliant=True), "not_found"
    )


def test_E1_denies_once_naming_every_missing_item(program: Program) -> None:
    """All three gaps give one E1 entry whose message names each of them."""
    result = program.enroll(
        patient_signed=False, prescriber_signed=False, all_statements_marked=False
    )
    assert_denied(result, "E1")
    text = reason_text(result, "E1")
    assert "patient has not signed" in text
    assert "prescriber has not signed" in text
    assert "statement box" in text


def test_E1_lists_every_unmet_rule_with_the_prescribers(program: Program) -> None:
    """An incomplete female form from an unknown prescriber is denied P1, E1 and E4 at once."""
    result = program.enroll(prescriber_id="DR9", prescriber_signed=False, menstruation=None)
    assert_denied(result, "P1", "E1", "E4")


# -- E2: a minor's legal guardian -------------------------------------------------------------


def test_E2_allows_a_minor_whose_guardian_signed_and_dated(program: Program) -> None:
    """A 17-year-old is enrolled on the guardian's signature even without her own."""
    result = program.enroll(date_of_birth=MINOR_DOB, guardian=GUARDIAN, patient_signed=False)
    assert result["ok"], result
    assert result["risk_category"] == "female_child_reproductive_potential"


def test_E2_denies_a_minor_without_a_guardian(program: Program) -> None:
    """A 17-year-old's form signed only by the patient is rejected E2."""
    assert_denied(program.enroll(date_of_birth=MINOR_DOB), "E2")


@pytest.mark.parametrize(
    ("change", "named"), [({"signed": False}, "signature"), ({"signed_on": None}, "date")]
)
def test_E2_denies_a_guardian_who_did_not_sign_or_date(
    program: Program, change: dict[str, Any], named: str
) -> None:
    """The guardian must both sign and date the form."""
    guardian = {**GUARDIAN, **change}
    result = program.enroll(sex="male", date_of_birth=MINOR_DOB, guardian=guardian)
    assert_denied(result, "E2")
    assert named in reason_text(result, "E2")


def test_E2_denies_a_minor_form_with_unmarked_statements_as_E1_and_E2(program: Program) -> None:
    """The guardian must mark every statement: an unmarked form is E1 and E2."""
    result = program.enroll(
        sex="male", date_of_birth=MINOR_DOB, guardian=GUARDIAN, all_statements_marked=False
    )
    assert_denied(result, "E1", "E2")


def test_E2_does_not_apply_on_the_18th_birthday(program: Program) -> None:
    """A patient turning 18 on the enrollment day is an adult: her own signature is needed."""
    result = program.enroll(date_of_birth="2008-03-01", patient_signed=False)
    assert_denied(result, "E1")
    assert program.enroll(date_of_birth="2008-03-01")["ok"]


def test_E2_uses_the_age_at_enrollment(program: Program) -> None:
    """A minor enrolled with a guardian the day before turning 18 stays enrolled afterwards."""
    assert program.enroll(sex="male", date_of_birth=MINOR_DOB, guardian=GUARDIAN)["ok"]
    program.counsel()
    program.advance(days=1)
    result = program.authorize()
    assert result["ok"], result
    assert result["risk_category"] == "adult_male"


# -- E3: an incompetent adult's authorized representative -------------------------------------


def test_E3_allows_a_representative_with_power_of_attorney(program: Program) -> None:
    """With power of attorney the representative's signature suffices; no letter is needed."""
    representative = {**REPRESENTATIVE, "power_of_attorney": True}
    result = program.enroll(
        competent=False, patient_signed=False, authorized_representative=representative
    )
    assert result["ok"], result


def test_E3_allows_a_representative_without_power_of_attorney_with_a_complete_letter(
    program: Program,
) -> None:
    """Without power of attorney a complete, matching prescriber letter admits the form."""
    result = program.enroll(
        competent=False,
        patient_signed=False,
        authorized_representative=REPRESENTATIVE,
        prescriber_letter=LETTER,
    )
    assert result["ok"], result


def test_E3_denies_an_incompetent_adult_without_a_representative(program: Program) -> None:
    """An incompetent adult's form needs an authorized representative."""
    assert_denied(program.enroll(competent=False, patient_signed=False), "E3")


def test_E3_denies_a_representative_without_power_of_attorney_or_letter(
    program: Program,
) -> None:
    """Without power of attorney and without the prescriber letter the form is rejected."""
    result = program.enroll(
        competent=False, patient_signed=False, authorized_representative=REPRESENTATIVE
    )
    assert_denied(result, "E3")
    assert "letter" in reason_text(result, "E3")


@pytest.mark.parametrize(
    ("part", "change"),
    [
        ("representative", {"signed": False}),
        ("representative", {"signed_on": None}),
        ("letter", {"on_letterhead": False}),
        ("letter", {"signed_on": None}),
        ("letter", {"incapacity_statement": None}),
        ("letter", {"incapacity_statement": "   "}),
        ("letter", {"medical_condition": None}),
        ("letter", {"representative_name": "Someone Else"}),
        ("letter", {"representative_address": "9 Other Rd"}),
        ("letter", {"relationship": "neighbour"}),
        ("letter", {"accepts_responsibility": False}),
    ],
)
def test_E3_denies_when_a_signature_or_letter_field_is_missing_or_mismatched(
    program: Program, part: str, change: dict[str, Any]
) -> None:
    """Each of the representative's signature, date and every letter statement is required."""
    representative = {**REPRESENTATIVE, **(change if part == "representative" else {})}
    letter = {**LETTER, **(change if part == "letter" else {})}
    result = program.enroll(
        competent=False,
        patient_signed=False,
        authorized_representative=representative,
        prescriber_letter=letter,
    )
    assert_denied(result, "E3")


# -- E4: the female reproductive facts ---------------------------------------------------------


def test_E4_denies_a_female_form_without_menstrual_status(program: Program) -> None:
    """A female patient's form must state her menstrual status."""
    assert_denied(program.enroll(menstruation=None), "E4")


def test_E4_denies_menopause_without_its_duration(program: Program) -> None:
    """Menopause stated without natural or surgical/chemical months is incomplete."""
    assert_denied(program.enroll(menstruation="menopause"), "E4")


@pytest.mark.parametrize(
    ("facts", "category"),
    [
        ({"menstruation": "regular"}, "adult_female_reproductive_potential"),
        (
            {"menstruation": "menopause", "natural_menopause_months": 30},
            "adult_female_not_reproductive_potential",
        ),
        (
            {"menstruation": "menopause", "surgical_or_chemical_menopause_months": 30},
            "adult_female_reproductive_potential",
        ),
    ],
)
def test_E4_allows_a_complete_statement(
    program: Program, facts: dict[str, Any], category: str
) -> None:
    """A complete statement enrolls the patient with the category it decides."""
    result = program.enroll(**facts)
    assert result["ok"], result
    assert result["risk_category"] == category


def test_E4_menstrual_facts_for_a_male_are_invalid(program: Program) -> None:
    """Menstrual facts on a male's form are invalid input, not a denial, and record nothing."""
    assert_invalid(program.enroll(sex="male", menstruation="regular"), "menstruation")
    assert_error(
        program.run("record_patient_survey", patient_id="PAT1", compliant=True), "not_found"
    )


def test_E4_denies_an_update_stating_menopause_without_its_duration(program: Program) -> None:
    """An update to menopause with no months on file is denied E4 and changes nothing."""
    program.enroll()
    result = program.run("update_reproductive_status", patient_id="PAT1", menstruation="menopause")
    assert_denied(result, "E4")
    assert event_types(program) == ["PatientEnrolled"]


# -- E6: twelve months without a dispense lapse the enrollment ---------------------------------


def test_E6_allows_an_authorization_on_the_last_day_of_the_12_months(program: Program) -> None:
    """Enrolled 2026-03-01 with no dispense: still enrolled at 2027-03-01 23:59:59."""
    program.ready_male()
    program.at("2027-03-01 23:59:59")
    assert program.authorize()["ok"]


def test_E6_denies_an_authorization_one_second_after_the_12_months(program: Program) -> None:
    """Enrolled 2026-03-01 with no dispense: lapsed at 2027-03-02 00:00:00, denied E6."""
    program.ready_male()
    program.at("2027-03-02 00:00:00")
    assert_denied(program.authorize(), "E6")


def test_E6_counts_from_the_last_dispense_when_later(program: Program) -> None:
    """A dispense on 2026-04-15 keeps the enrollment through 2027-04-15, not 2027-03-01."""
    program.ready_male()
    program.at("2026-04-15 10:00")
    program.fill()
    program.at("2027-04-15 20:00")
    program.survey()
    program.at("2027-04-15 23:59:59")
    assert program.authorize()["ok"]


def test_E6_denies_the_day_after_12_months_from_the_last_dispense(program: Program) -> None:
    """A dispense on 2026-04-15 lapses at the end of 2027-04-15."""
    program.ready_male()
    program.at("2026-04-15 10:00")
    program.fill()
    program.at("2027-04-15 23:00")
    program.survey()
    program.at("2027-04-16 00:00:00")
    assert_denied(program.authorize(), "E6")


def test_E6_enrolling_a_patient_whose_enrollment_has_not_lapsed_is_duplicate(
    program: Program,
) -> None:
    """A second enrollment before the lapse is a duplicate carrying the first result."""
    first = program.enroll(sex="male")
    program.at("2027-03-01 23:59:59")
    result = program.enroll(sex="male")
    assert_error(result, "duplicate")
    assert result["original"] == first


def test_E6_re_enrollment_after_the_lapse_starts_counseling_again(program: Program) -> None:
    """After the lapse the patient enrolls again; K1 counseling must be recorded anew."""
    program.ready_male()
    program.at("2027-03-02 09:00")
    result = program.enroll(sex="male")
    assert result["ok"], result
    assert result["enrollment"] == 2
    assert_denied(program.authorize(), "K1")
    program.counsel()
    assert program.authorize()["ok"]


def test_E6_re_enrollment_starts_surveys_again(program: Program) -> None:
    """A survey of the lapsed enrollment does not satisfy S2 after re-enrollment."""
    fnrp: dict[str, Any] = {"menstruation": "menopause", "natural_menopause_months": 30}
    program.enroll(**fnrp)
    program.counsel()
    program.survey()
    program.at("2027-03-02 09:00")
    assert program.enroll(**fnrp)["ok"]
    program.counsel()
    assert_denied(program.authorize(), "S2")
    program.survey()
    assert program.authorize()["ok"]


def test_E6_re_enrollment_keeps_an_open_pregnancy_block(program: Program) -> None:
    """Pregnancy facts carry over a re-enrollment: an unresolved positive test still blocks T7."""
    program.ready_frp()
    program.test(result="positive")
    program.at("2027-03-14 09:00")
    assert program.enroll()["ok"]
    program.counsel()
    program.survey()
    result = program.authorize()
    assert result["ok"] is False
    assert "T7" in [r["rule"] for r in result["error"]["reasons"]]


def test_E6_denies_confirming_an_authorization_once_the_enrollment_lapsed(
    program: Program,
) -> None:
    """An unexpired authorization cannot be confirmed after the lapse: D1 and E6."""
    program.ready_male()
    program.at("2027-02-20 09:00")
    auth = number(program.authorize())
    program.at("2027-03-02 09:00")
    assert_denied(program.confirm(auth), "D1", "E6")


def test_E6_denies_confirming_an_authorization_of_the_lapsed_enrollment_after_re_enrollment(
    program: Program,
) -> None:
    """An authorization issued in a lapsed enrollment is voided by the re-enrollment (A4)."""
    program.ready_male()
    program.at("2027-02-20 09:00")
    auth = number(program.authorize())
    program.at("2027-03-02 09:00")
    enrolled = program.enroll(sex="male")
    assert enrolled["ok"], enrolled
    assert enrolled["enrollment"] == 2
    program.counsel()
    assert_denied(program.confirm(auth), "D1", "A4")


def test_E6_denies_recording_a_dispense_once_the_enrollment_lapsed(program: Program) -> None:
    """A confirmation obtained before the lapse cannot be dispensed after it: D1 and E6."""
    program.ready_male()
    program.at("2027-03-01 23:00")
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    program.at("2027-03-02 00:00:00")
    assert_denied(program.dispense(confirmation), "D1", "E6")


# -- E7: surveys once the form is received ---------------------------------------------------


def test_E7_allows_a_female_patient_survey_once_enrolled(program: Program) -> None:
    """Once the form is received a female patient can take her survey."""
    program.enroll()
    assert program.run("record_patient_survey", patient_id="PAT1", compliant=True)["ok"]


def test_E7_denies_a_survey_before_the_form_is_received(program: Program) -> None:
    """Without an enrollment form there is no patient to take a survey: not_found."""
    result = program.run("record_patient_survey", patient_id="PAT1", compliant=True)
    assert_error(result, "not_found")


def test_E7_allows_a_male_initial_authorization_without_a_survey(program: Program) -> None:
    """A male patient takes no initial survey: his first authorization needs none (no S2)."""
    program.ready_male()
    result = program.authorize()
    assert result["ok"], result
    assert result["initial"] is True


def test_E7_denies_a_male_subsequent_authorization_without_a_current_survey(
    program: Program,
) -> None:
    """After his first dispense a male's next prescription needs a survey (S3)."""
    program.ready_male()
    program.fill()
    program.advance(days=20)
    assert_denied(program.authorize(), "S3")
    program.survey()
    assert program.authorize()["ok"]
