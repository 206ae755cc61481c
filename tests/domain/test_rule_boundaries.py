"""The domain tier: rule functions called directly on patient states folded in memory, both
sides of every day-count boundary explored by Hypothesis (T1, T3, T6, A2, S3, E6)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import add_days, add_months, end_of_day
from domain.rules.authorization import AuthorizationRequest, decide_authorization
from domain.rules.lapse import e6_reasons
from domain.rules.pregnancy_tests import t1_reasons, t6_reasons
from domain.rules.surveys import s3_reasons
from domain.values import Channel, RiskCategory, Sex
from tests.domain.states import ENROLLED, TZ, History, at

DECISION_DAY = date(2026, 4, 20)
NOON = datetime.combine(DECISION_DAY, time(12, 0), tzinfo=TZ)
morning = st.times(min_value=time(0, 0), max_value=time(11, 59))


def on(day: date, clock: time) -> datetime:
    """A wall-clock instant in the program's zone."""
    return datetime.combine(day, clock, tzinfo=TZ)


@given(days=st.integers(min_value=0, max_value=30), clock=morning)
def test_T1_holds_only_for_a_test_10_to_14_days_before_the_prescription(
    days: int, clock: time
) -> None:
    """T1 is met by a negative test collected 10 to 14 calendar days before the decision day,
    at any hour, and by no other day."""
    patient = History().negative_test(on(add_days(DECISION_DAY, -days), clock)).state()
    met = not t1_reasons(patient, at(NOON))
    assert met is (10 <= days <= 14)


@given(days=st.integers(min_value=0, max_value=30), clock=morning)
def test_T6_holds_only_while_the_last_negative_test_is_at_most_7_days_old(
    days: int, clock: time
) -> None:
    """T6 is met when the last negative test was collected on or after the day 7 days before
    the decision day."""
    patient = History().negative_test(on(add_days(DECISION_DAY, -days), clock)).state()
    assert (not t6_reasons(patient, at(NOON))) is (days <= 7)


@given(sensitivity=st.floats(min_value=1, max_value=200, allow_nan=False))
def test_T3_a_test_counts_only_at_50_mIU_per_mL_or_more_sensitive(sensitivity: float) -> None:
    """A test counts toward T6 only if its detection threshold is at most 50 mIU/mL."""
    patient = History().negative_test(on(DECISION_DAY, time(8)), sensitivity).state()
    assert (not t6_reasons(patient, at(NOON))) is (sensitivity <= 50)


@given(days=st.integers(min_value=0, max_value=7), clock=morning)
def test_A2_an_FRP_authorization_runs_through_the_7th_day_after_the_last_test(
    days: int, clock: time
) -> None:
    """A2: an FRP authorization expires at the end of the 7th day after the last negative test's
    day, whatever the hour of the test."""
    tested = add_days(DECISION_DAY, -days)
    patient = History().negative_test(on(tested, clock)).state()
    outcome = decide_authorization(patient, request(), None, at(NOON))
    assert outcome.risk_category is RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL
    assert outcome.expires_at == end_of_day(add_days(tested, 7), TZ)


@given(clock=st.times())
def test_A2_other_authorizations_run_through_the_30th_day_after_issue(clock: time) -> None:
    """A2: a non-FRP authorization expires at the end of the 30th day after the decision day."""
    patient = History(sex=Sex.MALE).state()
    outcome = decide_authorization(patient, request(), None, at(on(DECISION_DAY, clock)))
    assert outcome.expires_at == end_of_day(add_days(DECISION_DAY, 30), TZ)


@given(days=st.integers(min_value=0, max_value=45), clock=morning)
def test_S3_a_monthly_survey_is_current_within_the_30_days_before_the_decision(
    days: int, clock: time
) -> None:
    """S3 (monthly categories): a survey completed 0 to 30 days before the decision day is
    current; 31 days is not."""
    patient = History().survey(on(add_days(DECISION_DAY, -days), clock)).state()
    category = RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL
    assert (not s3_reasons(patient, category, at(NOON))) is (days <= 30)


@given(days=st.integers(min_value=150, max_value=200), clock=morning)
def test_S3_an_FNRP_survey_is_current_for_6_calendar_months(days: int, clock: time) -> None:
    """S3 (adult female not of reproductive potential): a survey is current on or after the day
    6 calendar months before the decision day."""
    completed = add_days(DECISION_DAY, -days)
    patient = History().survey(on(completed, clock)).state()
    category = RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL
    met = not s3_reasons(patient, category, at(NOON))
    assert met is (completed >= add_months(DECISION_DAY, -6))


@given(days=st.integers(min_value=-3, max_value=3), seconds=st.integers(0, 86_399))
def test_E6_the_enrollment_lapses_after_the_day_12_months_after_the_last_dispense(
    days: int, seconds: int
) -> None:
    """E6: the enrollment lapses at the end of the day 12 calendar months after the last
    dispense; any instant of that day is still within."""
    dispensed = ENROLLED + timedelta(days=10)
    patient = History(sex=Sex.MALE).dispensed(dispensed).state()
    last_day = add_months(dispensed.date(), 12)
    moment = on(add_days(last_day, days), time(0)) + timedelta(seconds=seconds)
    assert (not e6_reasons(patient, at(moment))) is (days <= 0)


def request() -> AuthorizationRequest:
    """The prescriber of record's request for 28 days, no refills, electronic."""
    return AuthorizationRequest(
        prescriber_id="DR1", daily_dose_mg=10, days_supply=28, refills=0, channel=Channel.ELECTRONIC
    )
