"""P1, P2, P3, P5: only certified participants act, and only the prescriber of record asks."""

from __future__ import annotations

from tests.application.helpers_rules import (
    assert_denial_recorded,
    assert_denied,
    assert_error,
    event_types,
    number,
)
from tests.program import Program

# -- P1: an enrolled and certified prescriber enrolls patients and obtains authorizations ----


def test_P1_allows_a_certified_prescriber_to_enroll_a_patient(program: Program) -> None:
    """A certified prescriber's enrollment form is accepted."""
    result = program.enroll(sex="male")
    assert result["ok"], result
    assert result["risk_category"] == "adult_male"


def test_P1_denies_enrollment_by_an_unknown_prescriber(program: Program) -> None:
    """A prescriber never registered cannot enroll a patient: denied P1, not not_found."""
    result = program.enroll(sex="male", prescriber_id="DR9")
    assert_denied(result, "P1")
    survey = program.run("record_patient_survey", patient_id="PAT1", compliant=True)
    assert_error(survey, "not_found")


def test_P1_denies_enrollment_by_a_registered_but_uncertified_prescriber(
    program: Program,
) -> None:
    """A registered prescriber who is not certified cannot enroll a patient."""
    program.prescriber("DR2", certify=False)
    assert_denied(program.enroll(sex="male", prescriber_id="DR2"), "P1")


def test_P1_allows_a_certified_prescriber_to_obtain_an_authorization(program: Program) -> None:
    """The certified prescriber of record gets an authorization number."""
    program.ready_male()
    result = program.authorize()
    assert result["ok"], result
    assert result["authorization_number"]
    assert "AuthorizationIssued" in event_types(program)


def test_P1_denies_an_authorization_to_an_unknown_prescriber_with_P5(program: Program) -> None:
    """An unknown prescriber asking for an authorization is an unmet P1 (and P5), recorded."""
    program.ready_male()
    result = program.authorize(prescriber_id="DR9")
    assert_denied(result, "P1", "P5")
    assert_denial_recorded(program, "AuthorizationDenied", "P1", "P5")


def test_P1_denies_an_authorization_to_an_uncertified_prescriber_of_record(
    program: Program,
) -> None:
    """A prescriber of record who lost certification cannot obtain authorizations (P1 with P3)."""
    program.ready_male()
    program.ok("suspend_prescriber", prescriber_id="DR1", reason="audit finding")
    assert_denied(program.authorize(), "P1", "P3")


# -- P2: only a certified pharmacy obtains a confirmation and dispenses ----------------------


def test_P2_allows_a_certified_pharmacy_to_confirm_and_dispense(program: Program) -> None:
    """A certified pharmacy obtains a confirmation number and records the dispense."""
    program.ready_male()
    numbers = program.fill()
    assert numbers["confirmation_number"]
    assert "DispenseRecorded" in event_types(program)


def test_P2_denies_a_confirmation_to_an_unknown_pharmacy(program: Program) -> None:
    """An unknown pharmacy asking for a confirmation is denied P2 with D1, and it is recorded."""
    program.ready_male()
    auth = number(program.authorize())
    result = program.confirm(auth, pharmacy_id="PH9")
    assert_denied(result, "D1", "P2")
    assert_denial_recorded(program, "DispenseDenied", "D1", "P2")


def test_P2_denies_a_dispense_by_an_unknown_pharmacy(program: Program) -> None:
    """An unknown pharmacy cannot record a dispense against another pharmacy's confirmation."""
    program.ready_male()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    result = program.dispense(confirmation, pharmacy_id="PH9")
    assert_denied(result, "D1", "P2")
    assert_denial_recorded(program, "DispenseDenied", "D1", "P2")
    assert "DispenseRecorded" not in event_types(program)


# -- P3: a suspension counts from its moment on ----------------------------------------------


def test_P3_denies_enrollment_by_a_suspended_prescriber(program: Program) -> None:
    """A suspended prescriber is uncertified: an enrollment is denied P1 and P3."""
    program.ok("suspend_prescriber", prescriber_id="DR1", reason="revoked")
    assert_denied(program.enroll(sex="male"), "P1", "P3")


def test_P3_allows_an_authorization_again_after_re_certification(program: Program) -> None:
    """Re-certifying a suspended prescriber lets the prescriber obtain authorizations again."""
    program.ready_male()
    program.ok("suspend_prescriber", prescriber_id="DR1", reason="audit")
    program.advance(hours=1)
    assert_denied(program.authorize(), "P1", "P3")
    program.ok("certify_prescriber", prescriber_id="DR1")
    assert program.authorize()["ok"]


def test_P3_denies_confirming_an_authorization_whose_prescriber_was_suspended_after_issue(
    program: Program,
) -> None:
    """An authorization issued before the suspension cannot be confirmed after it (D1, P3)."""
    program.ready_male()
    auth = number(program.authorize())
    program.advance(minutes=5)
    program.ok("suspend_prescriber", prescriber_id="DR1", reason="revoked")
    program.advance(minutes=5)
    result = program.confirm(auth)
    assert_denied(result, "D1", "P3")
    assert_denial_recorded(program, "DispenseDenied", "D1", "P3")


def test_P3_allows_confirming_an_authorization_before_the_suspension(program: Program) -> None:
    """A confirmation obtained before the prescriber's suspension stands; only later ones fail."""
    program.ready_male()
    auth = number(program.authorize())
    assert program.confirm(auth)["ok"]
    program.advance(minutes=5)
    program.ok("suspend_prescriber", prescriber_id="DR1", reason="revoked")
    assert "DispenseConfirmed" in event_types(program)


def test_P3_denies_a_confirmation_to_a_suspended_pharmacy(program: Program) -> None:
    """A suspended pharmacy is uncertified: its confirmation is denied D1, P2 and P3."""
    program.ready_male()
    auth = number(program.authorize())
    program.ok("suspend_pharmacy", pharmacy_id="PH1", reason="inspection")
    assert_denied(program.confirm(auth), "D1", "P2", "P3")


def test_P3_denies_a_dispense_by_a_pharmacy_suspended_after_its_confirmation(
    program: Program,
) -> None:
    """A pharmacy suspended after obtaining its confirmation cannot record the dispense."""
    program.ready_male()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    program.advance(minutes=1)
    program.ok("suspend_pharmacy", pharmacy_id="PH1", reason="inspection")
    assert_denied(program.dispense(confirmation), "D1", "P2", "P3")


def test_P3_allows_a_re_certified_pharmacy_to_confirm(program: Program) -> None:
    """Re-certifying a suspended pharmacy restores its right to confirm."""
    program.ready_male()
    auth = number(program.authorize())
    program.ok("suspend_pharmacy", pharmacy_id="PH1", reason="inspection")
    program.pharmacy("PH1")
    assert program.confirm(auth)["ok"]


# -- P5: only the prescriber of record requests authorizations -------------------------------


def test_P5_denies_a_certified_prescriber_who_is_not_the_prescriber_of_record(
    program: Program,
) -> None:
    """Another certified prescriber cannot obtain an authorization for someone else's patient."""
    program.prescriber("DR2")
    program.ready_male()
    assert_denied(program.authorize(prescriber_id="DR2"), "P5")


def test_P5_allows_the_new_prescriber_of_record_after_change_prescriber(
    program: Program,
) -> None:
    """After change_prescriber the new prescriber may ask, and the old one may not."""
    program.prescriber("DR2")
    program.ready_male()
    changed = program.run("change_prescriber", patient_id="PAT1", prescriber_id="DR2")
    assert changed["ok"], changed
    assert program.authorize(prescriber_id="DR2")["ok"]
    assert_denied(program.authorize(prescriber_id="DR1"), "P5")


def test_P5_change_prescriber_to_an_uncertified_prescriber_is_denied_P1(
    program: Program,
) -> None:
    """change_prescriber to a registered but uncertified prescriber is denied P1."""
    program.prescriber("DR2", certify=False)
    program.ready_male()
    assert_denied(program.run("change_prescriber", patient_id="PAT1", prescriber_id="DR2"), "P1")
    assert program.authorize()["ok"]


def test_P5_change_prescriber_to_an_unknown_prescriber_is_denied_P1(program: Program) -> None:
    """change_prescriber to an unknown prescriber is denied P1 (not not_found)."""
    program.ready_male()
    assert_denied(program.run("change_prescriber", patient_id="PAT1", prescriber_id="DR9"), "P1")


def test_P5_not_found_wins_over_denied_for_an_unknown_patient(program: Program) -> None:
    """An unknown patient asked for by an unknown prescriber is not_found, not denied."""
    result = program.authorize("NOBODY", prescriber_id="DR9")
    error = assert_error(result, "not_found")
    assert error["reasons"] == []


def test_P5_not_found_wins_over_denied_for_an_unknown_authorization(program: Program) -> None:
    """An unknown authorization number from an unknown pharmacy is not_found."""
    program.ready_male()
    assert_error(program.confirm("RA-NONE-NONE-NONE", pharmacy_id="PH9"), "not_found")


def test_P5_not_found_wins_over_denied_for_an_unknown_confirmation(program: Program) -> None:
    """An unknown confirmation number from an unknown pharmacy is not_found."""
    assert_error(program.dispense("RC-NONE-NONE-NONE", pharmacy_id="PH9"), "not_found")
