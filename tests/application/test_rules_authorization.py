"""A1, A2, A3, A4: issuing authorization numbers, their validity, terms and single use."""

from __future__ import annotations

from tests.application.helpers_rules import (
    assert_denial_recorded,
    assert_denied,
    assert_error,
    assert_invalid,
    event_types,
    last_event,
    negative_test,
    number,
    subsequent_frp,
)
from tests.program import Program

FRESH_FRP_RULES = ("K1", "S2", "T1", "T2", "T6", "C1", "C2")

# -- A1: issued only when every block rule holds; a denial lists every unmet rule -------------


def test_A1_denies_a_fresh_frp_listing_every_unmet_rule_at_once(program: Program) -> None:
    """A newly enrolled FRP with nothing done is denied K1, S2, T1, T2, T6, C1 and C2 together."""
    program.enroll()
    result = program.authorize()
    assert_denied(result, *FRESH_FRP_RULES)
    assert_denial_recorded(program, "AuthorizationDenied", *FRESH_FRP_RULES)


def test_A1_lists_participant_request_and_patient_rules_together(program: Program) -> None:
    """An unknown prescriber, a telephone 30-day refillable prescription and a fresh FRP:
    every unmet rule is listed once."""
    program.enroll()
    result = program.authorize(prescriber_id="DR9", days_supply=30, refills=2, channel="telephone")
    assert_denied(result, "P1", "P5", "A3", *FRESH_FRP_RULES)


def test_A1_lists_blocks_and_participant_rules_together(program: Program) -> None:
    """A suspended prescriber and a patient with T7 and T8 open: P1, P3, T7 and T8 at once."""
    program.ready_frp()
    program.test(result="positive")
    program.ok("record_menstrual_abnormality", patient_id="PAT1", noted_on=program.today)
    program.ok("suspend_prescriber", prescriber_id="DR1", reason="audit")
    program.advance(minutes=1)
    assert_denied(program.authorize(), "P1", "P3", "T7", "T8")


def test_A1_allows_when_every_rule_holds_with_the_issued_terms(program: Program) -> None:
    """A ready FRP gets a number, her category and the expiry; the decision is recorded."""
    program.ready_frp()
    result = program.authorize()
    assert result["ok"] is True
    assert result["authorization_number"]
    assert result["risk_category"] == "adult_female_reproductive_potential"
    assert result["expires_at"] == "2026-03-20T23:59:59-04:00"
    issued = last_event(program, "AuthorizationIssued")
    assert issued["authorization_number"] == result["authorization_number"]
    assert issued["ruleset_version"]


def test_A1_error_result_has_the_contract_shape(program: Program) -> None:
    """A denial is `{"ok": false, "error": {"code", "message", "reasons": [{rule, message}]}}`."""
    program.enroll(sex="male")
    result = program.authorize()
    assert set(result) == {"ok", "error"}
    assert set(result["error"]) == {"code", "message", "reasons"}
    assert result["error"]["code"] == "denied"
    assert result["error"]["reasons"] == [
        {"rule": "K1", "message": result["error"]["reasons"][0]["message"]}
    ]
    assert "K1" in result["error"]["message"]


def test_A1_invalid_input_records_nothing(program: Program) -> None:
    """A malformed request (a string dose) is invalid and leaves the history unchanged."""
    program.ready_male()
    before = event_types(program)
    assert_invalid(program.authorize(daily_dose_mg="ten"), "daily_dose_mg")
    assert event_types(program) == before


def test_A1_a_command_earlier_than_the_ledger_clock_is_invalid_and_records_nothing(
    program: Program,
) -> None:
    """Under the event clock a request dated before the last recorded `at` is invalid."""
    program.ready_male()
    before = event_types(program)
    result = program.authorize(at="2026-02-28T09:00:00-05:00")
    assert_invalid(result, "at")
    assert event_types(program) == before


def test_A1_a_denial_does_not_void_an_earlier_authorization(program: Program) -> None:
    """Only an issued authorization supersedes; a denied request leaves the open one usable."""
    program.ready_male()
    auth = number(program.authorize())
    assert_denied(program.authorize(channel="telephone"), "A3")
    assert program.confirm(auth)["ok"]


# -- A2: valid 7 days from the last test for FRP, 30 days from issue for others ---------------


def test_A2_allows_confirming_an_frp_authorization_at_the_last_second(program: Program) -> None:
    """Last test 03-13: the authorization is valid through 03-20 23:59:59."""
    program.ready_frp()
    auth = number(program.authorize())
    program.at("2026-03-20 23:59:59")
    assert program.confirm(auth)["ok"]


def test_A2_denies_confirming_an_frp_authorization_one_second_after_expiry(
    program: Program,
) -> None:
    """Last test 03-13: at 03-21 00:00:00 the authorization has expired (A2 with D1)."""
    program.ready_frp()
    auth = number(program.authorize())
    program.at("2026-03-21 00:00:00")
    assert_denied(program.confirm(auth), "D1", "A2")
    assert_denial_recorded(program, "DispenseDenied", "D1", "A2")


def test_A2_counts_frp_validity_from_the_test_date_not_the_issue_date(program: Program) -> None:
    """A subsequent FRP authorization on 03-20 after a test on 03-17 expires end of 03-24."""
    subsequent_frp(program)
    program.at("2026-03-17 08:00")
    negative_test(program, program.now)
    program.at("2026-03-20 09:00")
    result = program.authorize()
    assert result["expires_at"] == "2026-03-24T23:59:59-04:00"


def test_A2_allows_confirming_a_male_authorization_on_the_30th_day(program: Program) -> None:
    """Issued 03-01: a male's authorization is valid through 03-31 23:59:59."""
    program.ready_male()
    result = program.authorize()
    assert result["expires_at"] == "2026-03-31T23:59:59-04:00"
    program.at("2026-03-31 23:59:59")
    assert program.confirm(result["authorization_number"])["ok"]


def test_A2_denies_confirming_a_male_authorization_on_the_31st_day(program: Program) -> None:
    """Issued 03-01: at 04-01 00:00:00 a male's authorization has expired."""
    program.ready_male()
    auth = number(program.authorize())
    program.at("2026-04-01 00:00:00")
    assert_denied(program.confirm(auth), "D1", "A2")


def test_A2_gives_a_female_not_of_reproductive_potential_30_days_from_issue(
    program: Program,
) -> None:
    """An FNRP authorization issued 03-01 is valid through 03-31."""
    program.enroll(menstruation="menopause", natural_menopause_months=30)
    program.counsel()
    program.survey()
    assert program.authorize()["expires_at"] == "2026-03-31T23:59:59-04:00"


def test_A2_denies_recording_a_dispense_after_the_authorization_expired(
    program: Program,
) -> None:
    """A confirmation obtained in time cannot be dispensed after its authorization expired."""
    program.ready_frp()
    auth = number(program.authorize())
    program.at("2026-03-20 23:00")
    confirmation = number(program.confirm(auth), "confirmation_number")
    program.at("2026-03-21 00:00:00")
    assert_denied(program.dispense(confirmation), "D1", "A2")


def test_A2_allows_recording_a_dispense_at_the_last_second(program: Program) -> None:
    """A dispense at 03-20 23:59:59 against the 03-13 test's authorization is recorded."""
    program.ready_frp()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    program.at("2026-03-20 23:59:59")
    assert program.dispense(confirmation)["ok"]


# -- A3: at most 28 days, no refills, no telephone ----------------------------------------------


def test_A3_allows_28_days_supply(program: Program) -> None:
    """28 days is the largest supply allowed."""
    program.ready_male()
    assert program.authorize(days_supply=28)["ok"]


def test_A3_denies_29_days_supply(program: Program) -> None:
    """29 days is over the limit."""
    program.ready_male()
    assert_denied(program.authorize(days_supply=29), "A3")
    assert_denial_recorded(program, "AuthorizationDenied", "A3")


def test_A3_denies_an_automatic_refill(program: Program) -> None:
    """No automatic refills."""
    program.ready_male()
    assert_denied(program.authorize(refills=1), "A3")


def test_A3_denies_a_telephone_prescription(program: Program) -> None:
    """No telephone prescriptions."""
    program.ready_male()
    assert_denied(program.authorize(channel="telephone"), "A3")


def test_A3_allows_a_fax_prescription(program: Program) -> None:
    """A faxed prescription is acceptable."""
    program.ready_male()
    assert program.authorize(channel="fax")["ok"]


def test_A3_lists_every_violation_in_a_single_entry(program: Program) -> None:
    """Too much supply, a refill and a telephone request give one A3 naming all three."""
    program.ready_male()
    result = program.authorize(days_supply=60, refills=3, channel="telephone")
    assert_denied(result, "A3")
    message = result["error"]["reasons"][0]["message"]
    assert "28 days" in message
    assert "refills" in message
    assert "Telephone" in message


# -- A4: a new authorization for every prescription, one dispense each -----------------------


def test_A4_denies_confirming_an_authorization_voided_by_a_newer_one(program: Program) -> None:
    """The second authorization voids the first; confirming the first is denied A4 and D1."""
    program.ready_male()
    first = number(program.authorize())
    program.advance(minutes=1)
    second = program.authorize()
    assert second["voided"] == [first]
    voided = last_event(program, "AuthorizationVoided")
    assert voided["authorization_number"] == first
    assert voided["superseded_by"] == second["authorization_number"]
    assert_denied(program.confirm(first), "D1", "A4")
    assert program.confirm(second["authorization_number"])["ok"]


def test_A4_denies_a_second_confirmation_of_a_used_authorization(program: Program) -> None:
    """A second confirmation of the same authorization is denied A4 (with D1)."""
    program.ready_male()
    auth = number(program.authorize())
    assert program.confirm(auth)["ok"]
    program.advance(minutes=1)
    assert_denied(program.confirm(auth), "D1", "A4")


def test_A4_denies_dispensing_a_confirmation_voided_by_a_newer_authorization(
    program: Program,
) -> None:
    """An open confirmation is voided by a newer authorization and can no longer be dispensed."""
    program.ready_male()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    program.advance(minutes=1)
    second = program.authorize()
    assert second["voided"] == [confirmation]
    assert "ConfirmationVoided" in event_types(program)
    assert_denied(program.dispense(confirmation), "D1", "A4")


def test_A4_allows_one_dispense_and_a_second_of_the_same_confirmation_is_duplicate(
    program: Program,
) -> None:
    """Recording the dispense twice is `duplicate` carrying the original result."""
    program.ready_male()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    first = program.dispense(confirmation)
    assert first["ok"], first
    program.advance(minutes=1)
    again = program.dispense(confirmation)
    assert_error(again, "duplicate")
    assert again["original"] == first
    assert event_types(program).count("DispenseRecorded") == 1


def test_A4_allows_a_new_authorization_after_a_dispense_voiding_nothing(program: Program) -> None:
    """A new authorization after a dispense voids nothing."""
    program.ready_male()
    program.fill()
    program.advance(days=20)
    program.survey()
    result = program.authorize()
    assert result["ok"], result
    assert result["voided"] == []


def test_A4_each_prescription_gets_its_own_number(program: Program) -> None:
    """Every issued authorization has a fresh number."""
    program.ready_male()
    first = number(program.authorize(days_supply=14))
    program.advance(minutes=1)
    assert number(program.authorize(days_supply=14)) != first
