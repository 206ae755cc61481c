"""T1, T2, T3, T6, T7, T8: pregnancy testing and the pregnancy and menstrual blocks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.application.helpers_rules import (
    assert_denial_recorded,
    assert_denied,
    assert_error,
    assert_invalid,
    event_types,
    frp_without_tests,
    negative_test,
    number,
    subsequent_frp,
)
from tests.program import Program, local

FIRST_TEST = local("2026-03-02 12:00")


def initial_on(program: Program, day: str, first_test: datetime = FIRST_TEST) -> dict[str, Any]:
    """An FRP (enrolled 03-01) with a first test, a second test at 07:00 on `day`, and the
    authorization requested at 09:00 that day."""
    frp_without_tests(program)
    negative_test(program, first_test)
    program.at(f"{day} 07:00")
    negative_test(program, program.now)
    program.at(f"{day} 09:00")
    return program.authorize()


# -- T1: a negative test 10 to 14 days before an initial prescription -------------------------


def test_T1_denies_a_first_test_9_days_before(program: Program) -> None:
    """A first test on 03-02 is too recent for a prescription on 03-11 (9 days)."""
    result = initial_on(program, "2026-03-11")
    assert_denied(result, "T1")
    assert_denial_recorded(program, "AuthorizationDenied", "T1")


def test_T1_allows_a_first_test_exactly_10_days_before(program: Program) -> None:
    """A first test on 03-02 serves a prescription on 03-12 (10 days)."""
    assert initial_on(program, "2026-03-12")["ok"]


def test_T1_allows_a_first_test_exactly_14_days_before(program: Program) -> None:
    """A first test on 03-02 serves a prescription on 03-16 (14 days)."""
    assert initial_on(program, "2026-03-16")["ok"]


def test_T1_denies_a_first_test_15_days_before(program: Program) -> None:
    """A first test on 03-02 is too old for a prescription on 03-17 (15 days)."""
    assert_denied(initial_on(program, "2026-03-17"), "T1")


def test_T1_counts_calendar_days_not_hours_at_the_10_day_edge(program: Program) -> None:
    """A test at 03-02 23:30 is 10 calendar days before 03-12 00:30 though under 240 hours."""
    frp_without_tests(program)
    negative_test(program, local("2026-03-02 23:30"))
    program.at("2026-03-11 23:00")
    negative_test(program, program.now)
    program.at("2026-03-12 00:30")
    assert program.authorize()["ok"]


def test_T1_counts_calendar_days_not_hours_at_the_14_day_edge(program: Program) -> None:
    """A test at 03-02 00:30 is 14 calendar days before 03-16 23:30 though over 14 x 24 hours."""
    frp_without_tests(program)
    negative_test(program, local("2026-03-02 00:30"))
    program.at("2026-03-16 22:00")
    negative_test(program, program.now)
    program.at("2026-03-16 23:30")
    assert program.authorize()["ok"]


# -- T2: a second negative test within the 24 hours before -----------------------------------


def t2_case(program: Program, second_test_at: str) -> dict[str, Any]:
    """First test 03-02 12:00; second test at the given instant; authorization 03-13 09:00."""
    frp_without_tests(program)
    negative_test(program, FIRST_TEST)
    program.at("2026-03-13 09:00")
    negative_test(program, local(second_test_at))
    return program.authorize()


def test_T2_allows_a_test_collected_exactly_24_hours_before(program: Program) -> None:
    """A second test collected at 03-12 09:00 serves a prescription at 03-13 09:00."""
    assert t2_case(program, "2026-03-12 09:00:00")["ok"]


def test_T2_denies_a_test_collected_24_hours_and_1_second_before(program: Program) -> None:
    """A second test collected at 03-12 08:59:59 is one second too old: denied T2."""
    assert_denied(t2_case(program, "2026-03-12 08:59:59"), "T2")


def test_T2_allows_a_test_collected_at_the_decision_instant(program: Program) -> None:
    """A second test collected at the very instant of the prescription counts."""
    assert t2_case(program, "2026-03-13 09:00:00")["ok"]


def test_T2_applies_also_when_abstinence_is_the_chosen_method(program: Program) -> None:
    """With abstinence a second test within 24 hours is still required (the first is 11 days
    old, so T6 is unmet too)."""
    frp_without_tests(program)
    program.contraception(methods=[], abstinence=True)
    negative_test(program, FIRST_TEST)
    program.at("2026-03-13 09:00")
    assert_denied(program.authorize(), "T2", "T6")
    negative_test(program, program.now - timedelta(hours=1))
    assert program.authorize()["ok"]


# -- T3: a test counts only if sensitive to at least 50 mIU/mL -------------------------------


def test_T3_allows_a_test_with_a_50_miu_threshold(program: Program) -> None:
    """A test detecting 50 mIU/mL counts."""
    frp_without_tests(program)
    negative_test(program, FIRST_TEST)
    program.at("2026-03-13 09:00")
    result = program.test(collected_at=program.now - timedelta(hours=1), sensitivity=50)
    assert result["counts"] is True
    assert program.authorize()["ok"]


def test_T3_denies_a_second_test_with_a_51_miu_threshold(program: Program) -> None:
    """A less sensitive second test is recorded but does not count: T2 and T6, with T3."""
    frp_without_tests(program)
    negative_test(program, FIRST_TEST)
    program.at("2026-03-13 09:00")
    result = program.test(collected_at=program.now - timedelta(hours=1), sensitivity=51)
    assert result["ok"], result
    assert result["counts"] is False
    assert event_types(program).count("PregnancyTestRecorded") == 2
    assert_denied(program.authorize(), "T2", "T3", "T6")


def test_T3_denies_an_insensitive_first_test_with_T1(program: Program) -> None:
    """An insensitive test in the 10-14 day window leaves T1 unmet, with T3 beside it."""
    frp_without_tests(program)
    program.at(FIRST_TEST)
    assert program.test(sensitivity=100)["ok"]
    program.at("2026-03-13 09:00")
    negative_test(program, program.now - timedelta(hours=1))
    assert_denied(program.authorize(), "T1", "T3")


def test_T3_denies_an_insensitive_last_test_for_a_subsequent_prescription(
    program: Program,
) -> None:
    """Eight days after the last sensitive test, an insensitive one does not renew T6."""
    subsequent_frp(program)
    program.at("2026-03-21 08:00")
    assert program.test(sensitivity=100)["ok"]
    program.survey()
    assert_denied(program.authorize(), "T3", "T6")


# -- T6: the last negative test is at most 7 days old ----------------------------------------


def test_T6_allows_a_test_exactly_7_days_old(program: Program) -> None:
    """Last test 03-13: a subsequent prescription on 03-20 is allowed (no T1/T2 needed)."""
    subsequent_frp(program)
    program.at("2026-03-20 23:00")
    result = program.authorize()
    assert result["ok"], result
    assert result["initial"] is False


def test_T6_denies_when_last_negative_test_is_8_days_old(program: Program) -> None:
    """Last test 03-13: a subsequent prescription on 03-21 is denied T6."""
    subsequent_frp(program)
    program.at("2026-03-21 00:00:00")
    assert_denied(program.authorize(), "T6")
    assert_denial_recorded(program, "AuthorizationDenied", "T6")


def test_T6_allows_after_a_fresh_negative_test(program: Program) -> None:
    """A new sensitive negative test renews T6 for a subsequent prescription."""
    subsequent_frp(program)
    program.at("2026-03-25 09:00")
    negative_test(program, program.now - timedelta(hours=3))
    assert program.authorize()["ok"]


# -- T7: a positive test or suspected pregnancy -----------------------------------------------


@pytest.mark.parametrize("sensitivity", [25, 1000])
def test_T7_denies_after_a_positive_test_of_any_sensitivity(
    program: Program, sensitivity: float
) -> None:
    """A positive test blocks the authorization, however insensitive the test was."""
    program.ready_frp()
    result = program.test(result="positive", sensitivity=sensitivity)
    assert result["ok"], result
    assert "T7" in result["note"]
    assert_denied(program.authorize(), "T7")


def test_T7_a_later_negative_test_does_not_clear_it(program: Program) -> None:
    """After a positive test, a later negative test leaves T7 in force."""
    program.ready_frp()
    program.test(result="positive")
    program.advance(hours=1)
    negative_test(program, program.now)
    assert_denied(program.authorize(), "T7")


def test_T7_allows_again_once_the_pregnancy_report_is_resolved(program: Program) -> None:
    """resolve_pregnancy_report clears T7; the authorization is issued again."""
    program.ready_frp()
    program.test(result="positive")
    program.advance(hours=1)
    resolved = program.run(
        "resolve_pregnancy_report",
        patient_id="PAT1",
        resolution="not_pregnant",
        evidence="quantitative hCG negative x2",
        resolved_on=program.today,
    )
    assert resolved["ok"], resolved
    negative_test(program, program.now)
    assert program.authorize()["ok"]


def test_T7_resolving_with_nothing_open_is_not_found(program: Program) -> None:
    """resolve_pregnancy_report with no open report is not_found and records nothing."""
    program.ready_frp()
    before = event_types(program)
    result = program.run(
        "resolve_pregnancy_report",
        patient_id="PAT1",
        resolution="not_pregnant",
        evidence="none needed",
        resolved_on=program.today,
    )
    assert_error(result, "not_found")
    assert event_types(program) == before


def test_T7_denies_after_a_suspected_pregnancy_report(program: Program) -> None:
    """A reported suspected pregnancy of a female patient blocks until resolved."""
    program.ready_frp()
    report = program.run(
        "report_pregnancy",
        patient_id="PAT1",
        suspected_on=program.today,
        reported_to_medwatch=True,
        reported_to_rems=True,
    )
    assert report["blocks"] is True
    assert_denied(program.authorize(), "T7")
    program.ok(
        "resolve_pregnancy_report",
        patient_id="PAT1",
        resolution="pregnancy_ended",
        evidence="clinical note",
        resolved_on=program.today,
    )
    assert program.authorize()["ok"]


def test_T7_applies_to_a_female_not_of_reproductive_potential(program: Program) -> None:
    """T7 applies to every female patient, FNRP included."""
    program.enroll(menstruation="menopause", natural_menopause_months=30)
    program.counsel()
    program.survey()
    program.ok(
        "report_pregnancy",
        patient_id="PAT1",
        suspected_on=program.today,
        reported_to_medwatch=True,
        reported_to_rems=False,
    )
    assert_denied(program.authorize(), "T7")


def test_T7_a_male_patients_partner_pregnancy_does_not_block(program: Program) -> None:
    """A partner's pregnancy reported for a male patient is recorded and does not block."""
    program.ready_male()
    report = program.run(
        "report_pregnancy",
        patient_id="PAT1",
        suspected_on=program.today,
        reported_to_medwatch=True,
        reported_to_rems=True,
    )
    assert report["ok"], report
    assert report["blocks"] is False
    assert "PregnancyReported" in event_types(program)
    assert program.authorize()["ok"]


def test_T7_a_pregnancy_test_for_a_male_patient_is_invalid(program: Program) -> None:
    """Pregnancy tests are recorded for female patients only."""
    program.ready_male()
    assert_invalid(program.test(), "patient_id")


def test_T7_denies_a_confirmation_while_open(program: Program) -> None:
    """A positive test after issue blocks the dispense confirmation: D1 and T7."""
    program.ready_frp()
    auth = number(program.authorize())
    program.advance(minutes=10)
    program.test(result="positive")
    assert_denied(program.confirm(auth), "D1", "T7")


def test_T7_denies_recording_a_dispense_while_open(program: Program) -> None:
    """A positive test after the confirmation blocks the dispense itself: D1 and T7."""
    program.ready_frp()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    program.advance(minutes=10)
    program.test(result="positive")
    assert_denied(program.dispense(confirmation), "D1", "T7")
    assert_denial_recorded(program, "DispenseDenied", "D1", "T7")


# -- T8: a missed period or abnormal bleeding --------------------------------------------------


def abnormal(program: Program) -> None:
    """An FRP ready at 03-13 09:00 with an abnormality recorded then (noted 03-12)."""
    program.ready_frp()
    program.ok("record_menstrual_abnormality", patient_id="PAT1", noted_on="2026-03-12")


def test_T8_denies_an_frp_with_an_abnormality_and_no_later_test(program: Program) -> None:
    """The negative tests taken before the abnormality was recorded do not clear it."""
    abnormal(program)
    program.advance(hours=1)
    assert_denied(program.authorize(), "T8")


def test_T8_allows_after_a_negative_test_collected_one_second_after_recording(
    program: Program,
) -> None:
    """A sensitive negative test collected just after the recording clears T8."""
    abnormal(program)
    program.advance(hours=1)
    negative_test(program, local("2026-03-13 09:00:01"))
    assert program.authorize()["ok"]


def test_T8_denies_a_test_collected_one_second_before_the_recording(program: Program) -> None:
    """A test collected after the noted day but before the recording instant does not clear."""
    abnormal(program)
    program.advance(hours=1)
    negative_test(program, local("2026-03-13 08:59:59"))
    assert_denied(program.authorize(), "T8")


def test_T8_denies_when_the_later_test_is_insensitive(program: Program) -> None:
    """Only a sensitive negative test clears T8."""
    abnormal(program)
    program.advance(hours=1)
    assert program.test(sensitivity=100)["ok"]
    assert_denied(program.authorize(), "T8")


def test_T8_does_not_apply_to_a_female_not_of_reproductive_potential(program: Program) -> None:
    """An FNRP patient's abnormal bleeding is recorded but does not block."""
    program.enroll(menstruation="menopause", natural_menopause_months=30)
    program.counsel()
    program.survey()
    program.ok("record_menstrual_abnormality", patient_id="PAT1", noted_on=program.today)
    assert program.authorize()["ok"]


def test_T8_a_menstrual_abnormality_for_a_male_patient_is_invalid(program: Program) -> None:
    """Menstrual facts for a male patient are invalid."""
    program.ready_male()
    result = program.run("record_menstrual_abnormality", patient_id="PAT1", noted_on=program.today)
    assert_invalid(result, "patient_id")


def test_T8_denies_a_confirmation_while_open(program: Program) -> None:
    """An abnormality recorded after issue blocks the confirmation: D1 and T8."""
    program.ready_frp()
    auth = number(program.authorize())
    program.advance(minutes=10)
    program.ok("record_menstrual_abnormality", patient_id="PAT1", noted_on=program.today)
    program.advance(minutes=10)
    assert_denied(program.confirm(auth), "D1", "T8")
