"""K1, S1, S2, S3: counseling, the prescriber survey and the patient surveys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.application.helpers_rules import (
    assert_denial_recorded,
    assert_denied,
    assert_invalid,
    event_types,
    last_event,
    negative_test,
    started,
    subsequent_frp,
)
from tests.builders import AUTH_REQUEST
from tests.program import ALL_TOPICS, Program

FNRP: dict[str, Any] = {"menstruation": "menopause", "natural_menopause_months": 30}
GUARDIAN = {"name": "Gail Guardian", "signed": True, "signed_on": "2026-03-01"}

# -- K1: comprehensive counseling ----------------------------------------------------------------


def test_K1_denies_an_authorization_without_counseling(program: Program) -> None:
    """With no counseling recorded K1 is unmet, naming every topic."""
    program.enroll(sex="male")
    result = program.authorize()
    assert_denied(result, "K1")
    message = result["error"]["reasons"][0]["message"]
    assert all(topic in message for topic in ALL_TOPICS)
    assert_denial_recorded(program, "AuthorizationDenied", "K1")


def test_K1_denies_when_one_topic_is_missing(program: Program) -> None:
    """Eight of nine topics is a partial record: accepted, reported incomplete, K1 unmet."""
    program.enroll(sex="male")
    recorded = program.counsel(topics=ALL_TOPICS[:-1])
    assert recorded["counseling_complete"] is False
    assert recorded["missing_topics"] == ["resource_pack"]
    result = program.authorize()
    assert_denied(result, "K1")
    assert "resource_pack" in result["error"]["reasons"][0]["message"]


def test_K1_allows_when_records_together_cover_every_topic(program: Program) -> None:
    """Two partial counseling records that together cover all nine topics satisfy K1."""
    program.enroll(sex="male")
    program.counsel(topics=ALL_TOPICS[:4])
    program.advance(days=1)
    recorded = program.counsel(topics=ALL_TOPICS[4:])
    assert recorded["counseling_complete"] is True
    assert program.authorize()["ok"]


def test_K1_an_unknown_topic_is_invalid(program: Program) -> None:
    """A counseling topic outside the nine is invalid input and records nothing."""
    program.enroll(sex="male")
    result = program.run(
        "record_counseling", patient_id="PAT1", prescriber_id="DR1", topics=["astrology"]
    )
    assert_invalid(result, "topics")
    assert event_types(program) == ["PatientEnrolled"]


# -- S1: the prescriber survey is the request itself ---------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["patient_id", "prescriber_id", "daily_dose_mg", "days_supply", "refills", "channel"],
)
def test_S1_blocks_a_request_missing_a_survey_field_as_invalid_recording_nothing(
    program: Program, field: str
) -> None:
    """A missing survey field is `invalid` naming the field, never a denial, and not recorded."""
    program.ready_male()
    before = event_types(program)
    survey = dict(AUTH_REQUEST)
    del survey[field]
    result = program.ledger.execute(
        {"command": "request_authorization", "at": program.now.isoformat(), **survey}
    )
    assert_invalid(result, field)
    assert "required field missing" in result["error"]["message"]
    assert event_types(program) == before


def test_S1_blocks_a_request_with_a_null_survey_field_as_invalid(program: Program) -> None:
    """A survey field sent as null (no days supply) is `invalid` naming it."""
    program.ready_male()
    request: dict[str, Any] = {"days_supply": None}
    assert_invalid(program.authorize(**request), "days_supply")


def test_S1_blocks_a_request_with_an_unknown_field_as_invalid(program: Program) -> None:
    """A misspelt survey field is `invalid`, not silently ignored."""
    program.ready_male()
    result = program.authorize(day_supply=28)
    assert_invalid(result, "day_supply")


def test_S1_allows_a_complete_survey_and_records_its_contents(program: Program) -> None:
    """A complete request is issued and the decision keeps the survey's contents."""
    program.ready_frp()
    result = program.authorize(daily_dose_mg=25, days_supply=21)
    assert result["ok"], result
    issued = last_event(program, "AuthorizationIssued")
    assert issued["prescriber_id"] == "DR1"
    assert issued["daily_dose_mg"] == 25
    assert issued["days_supply"] == 21
    assert issued["inputs"]["last_negative_test_collected_at"].startswith("2026-03-13T07:00")


def test_S1_never_appears_as_a_denial_reason(program: Program) -> None:
    """A complete request from a patient with nothing done is denied without S1."""
    program.enroll(sex="male")
    result = program.authorize()
    assert "S1" not in [r["rule"] for r in result["error"]["reasons"]]


# -- S2: the female initial survey ---------------------------------------------------------------


def frp_without_survey(program: Program) -> None:
    """An FRP ready for her initial prescription on 03-13 except for the survey."""
    program.enroll()
    program.counsel()
    program.contraception()
    program.test()
    program.advance(days=12)
    program.test(collected_at=program.now - timedelta(hours=2))


def test_S2_denies_a_female_initial_prescription_without_a_survey(program: Program) -> None:
    """An FRP's first prescription needs her initial survey."""
    frp_without_survey(program)
    assert_denied(program.authorize(), "S2")
    assert_denial_recorded(program, "AuthorizationDenied", "S2")


def test_S2_denies_a_non_compliant_survey(program: Program) -> None:
    """A non-compliant survey does not satisfy S2."""
    frp_without_survey(program)
    program.survey(compliant=False)
    assert_denied(program.authorize(), "S2")


def test_S2_allows_a_compliant_survey_after_a_non_compliant_one(program: Program) -> None:
    """A compliant survey after a non-compliant one lifts the block."""
    frp_without_survey(program)
    program.survey(compliant=False)
    program.advance(minutes=5)
    program.survey()
    assert program.authorize()["ok"]


def test_S2_denies_when_the_latest_survey_is_non_compliant(program: Program) -> None:
    """A later non-compliant survey blocks again, whatever came before."""
    frp_without_survey(program)
    program.survey()
    program.advance(minutes=5)
    program.survey(compliant=False)
    assert_denied(program.authorize(), "S2")


def test_S2_applies_to_a_female_not_of_reproductive_potential(program: Program) -> None:
    """Every female patient takes the initial survey, FNRP included."""
    program.enroll(**FNRP)
    program.counsel()
    assert_denied(program.authorize(), "S2")
    program.survey()
    assert program.authorize()["ok"]


# -- S3: the survey is current before each subsequent prescription ------------------------------


def male_surveyed_on_0302(program: Program) -> None:
    """An adult male with a first fill on 03-01 and a survey on 03-02."""
    program.ready_male()
    program.fill()
    program.at("2026-03-02 10:00")
    program.survey()


def test_S3_allows_a_male_survey_taken_30_days_before(program: Program) -> None:
    """Monthly for males: a survey on 03-02 serves a prescription on 04-01."""
    male_surveyed_on_0302(program)
    program.at("2026-04-01 23:59")
    assert program.authorize()["ok"]


def test_S3_denies_a_male_survey_taken_31_days_before(program: Program) -> None:
    """Monthly for males: a survey on 03-02 is too old on 04-02."""
    male_surveyed_on_0302(program)
    program.at("2026-04-02 00:00")
    assert_denied(program.authorize(), "S3")
    assert_denial_recorded(program, "AuthorizationDenied", "S3")


def test_S3_allows_an_adult_frp_survey_taken_30_days_before(program: Program) -> None:
    """Monthly for adult FRP: the survey of 03-13 serves a prescription on 04-12."""
    subsequent_frp(program)
    program.at("2026-04-12 09:00")
    negative_test(program, program.now - timedelta(hours=1))
    assert program.authorize()["ok"]


def test_S3_denies_an_adult_frp_survey_taken_31_days_before(program: Program) -> None:
    """Monthly for adult FRP: the survey of 03-13 is too old on 04-13."""
    subsequent_frp(program)
    program.at("2026-04-13 09:00")
    negative_test(program, program.now - timedelta(hours=1))
    assert_denied(program.authorize(), "S3")


def fnrp_girl_filled(program: Program) -> None:
    """A girl not yet menstruating, surveyed and first filled on 03-01."""
    program.enroll(date_of_birth="2014-06-01", guardian=GUARDIAN, menstruation="not_started")
    program.counsel()
    program.survey()
    program.fill()


def test_S3_allows_a_female_child_survey_taken_30_days_before(program: Program) -> None:
    """Monthly for every female child: the survey of 03-01 serves 03-31."""
    fnrp_girl_filled(program)
    program.at("2026-03-31 09:00")
    result = program.authorize()
    assert result["ok"], result
    assert result["risk_category"] == "female_child_not_reproductive_potential"


def test_S3_denies_a_female_child_survey_taken_31_days_before(program: Program) -> None:
    """Monthly for every female child (FNRP included): the survey of 03-01 is too old on 04-01."""
    fnrp_girl_filled(program)
    program.at("2026-04-01 09:00")
    assert_denied(program.authorize(), "S3")


def fnrp_adult_surveyed_on(program: Program, survey_day: str) -> None:
    """An adult FNRP surveyed on `survey_day` and first filled on 02-28."""
    program.enroll(**FNRP)
    program.counsel()
    program.at(f"{survey_day} 10:00")
    program.survey()
    program.at("2026-02-28 12:00")
    program.fill()


@pytest.fixture
def late_february(ledger) -> Program:
    """A program starting 2026-02-27 09:00 (for the month-end edge of the 6-month window)."""
    return started(ledger, "2026-02-27 09:00")


def test_S3_allows_an_adult_fnrp_survey_6_months_before_with_month_end_clipping(
    late_february: Program,
) -> None:
    """Six months before 08-31 is 02-28 (clipped): a survey on 02-28 is current on 08-31."""
    fnrp_adult_surveyed_on(late_february, "2026-02-28")
    late_february.at("2026-08-31 09:00")
    result = late_february.authorize()
    assert result["ok"], result
    assert result["initial"] is False


def test_S3_denies_an_adult_fnrp_survey_one_day_older_than_6_months(
    late_february: Program,
) -> None:
    """A survey on 02-27 is not current on 08-31 (the window opens 02-28)."""
    fnrp_adult_surveyed_on(late_february, "2026-02-27")
    late_february.at("2026-08-31 09:00")
    assert_denied(late_february.authorize(), "S3")


def test_S3_denies_the_same_fnrp_survey_on_the_next_day(late_february: Program) -> None:
    """Six months before 09-01 is 03-01: the 02-28 survey is no longer current."""
    fnrp_adult_surveyed_on(late_february, "2026-02-28")
    late_february.at("2026-09-01 09:00")
    assert_denied(late_february.authorize(), "S3")


def test_S3_denies_when_the_latest_survey_is_non_compliant(program: Program) -> None:
    """A recent but non-compliant survey blocks a subsequent prescription."""
    male_surveyed_on_0302(program)
    program.advance(days=1)
    program.survey(compliant=False)
    assert_denied(program.authorize(), "S3")
