"""Time edges across the 2026 daylight-saving change (America/New_York jumps from 02:00 EST to
03:00 EDT on 2026-03-08), and the calendar arithmetic the windows rest on (RULES.md, "Time")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from application.ledger import Ledger
from domain.calendar import add_months, age_on, birthday, day_of, end_of_day
from tests.application.helpers_rules import (
    assert_denied,
    frp_without_tests,
    negative_test,
    number,
    started,
)
from tests.program import TZ, Program, local

DECISION_ON_DST_DAY = local("2026-03-08 12:00")
"""Noon EDT on the day of the jump: 16:00 UTC."""


@pytest.fixture
def february(ledger: Ledger) -> Program:
    """A program starting 2026-02-15 09:00 EST, DR1 and PH1 certified."""
    return started(ledger, "2026-02-15 09:00")


def test_the_dst_jump_is_where_the_tests_expect_it() -> None:
    """03-07 noon is EST (-05:00) and 03-08 noon is EDT (-04:00)."""
    assert local("2026-03-07 12:00").utcoffset() == timedelta(hours=-5)
    assert DECISION_ON_DST_DAY.utcoffset() == timedelta(hours=-4)
    assert DECISION_ON_DST_DAY.astimezone(UTC) == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)


# -- T2: 24 hours is a duration between instants ----------------------------------------------


def t2_across_dst(program: Program, second_test: datetime) -> dict[str, Any]:
    """First test 02-24 (T1 window for 03-08), second test at `second_test`, authorization
    at noon EDT on 03-08."""
    frp_without_tests(program)
    negative_test(program, local("2026-02-24 12:00"))
    negative_test(program, second_test)
    program.at(DECISION_ON_DST_DAY)
    return program.authorize()


def test_T2_allows_a_test_exactly_24_hours_before_across_the_dst_jump(february: Program) -> None:
    """24 hours before 03-08 12:00 EDT is 03-07 11:00 EST (wall clock 25 hours apart)."""
    result = t2_across_dst(february, local("2026-03-07 11:00:00"))
    assert result["ok"], result
    assert result["expires_at"] == "2026-03-14T23:59:59-04:00"


def test_T2_denies_a_test_24_hours_and_1_second_before_across_the_dst_jump(
    february: Program,
) -> None:
    """03-07 10:59:59 EST is one second more than 24 hours before 03-08 12:00 EDT."""
    assert_denied(t2_across_dst(february, local("2026-03-07 10:59:59")), "T2")


def test_T2_counts_instants_not_wall_clock_across_the_dst_jump(february: Program) -> None:
    """03-07 11:30 EST is 23.5 hours before 03-08 12:00 EDT, though 24.5 on the wall clock."""
    assert t2_across_dst(february, local("2026-03-07 11:30"))["ok"]


# -- T1 and C2: calendar days across the jump -------------------------------------------------


def t1_across_dst(
    program: Program, first_test: str, started_on: date | None = None
) -> dict[str, Any]:
    """First test on `first_test`, second test 03-08 10:00 EDT, authorization at noon EDT."""
    frp_without_tests(program)
    if started_on is not None:
        program.contraception(started_on=started_on)
    negative_test(program, local(first_test))
    negative_test(program, local("2026-03-08 10:00"))
    program.at(DECISION_ON_DST_DAY)
    return program.authorize()


def test_T1_allows_a_first_test_14_days_before_a_dst_day(february: Program) -> None:
    """02-22 is 14 calendar days before 03-08, the jump notwithstanding."""
    assert t1_across_dst(february, "2026-02-22 08:00")["ok"]


def test_T1_denies_a_first_test_15_days_before_a_dst_day(february: Program) -> None:
    """02-21 is 15 calendar days before 03-08."""
    february.at("2026-02-21 09:00")
    assert_denied(t1_across_dst(february, "2026-02-21 23:59"), "T1")


def test_C2_allows_contraception_started_28_days_before_a_dst_day(february: Program) -> None:
    """Started 02-08, four weeks before 03-08: acceptable."""
    assert t1_across_dst(february, "2026-02-24 08:00", started_on=date(2026, 2, 8))["ok"]


def test_C2_denies_contraception_started_27_days_before_a_dst_day(february: Program) -> None:
    """Started 02-09, one day short of four weeks before 03-08."""
    result = t1_across_dst(february, "2026-02-24 08:00", started_on=date(2026, 2, 9))
    assert_denied(result, "C2")


# -- A2 and T6: end of the 7th day after a test taken before the jump ------------------------


def frp_tested_march_1(program: Program) -> str:
    """An FRP whose last test is 03-01 20:00 EST, authorized 03-02 09:00; its number."""
    frp_without_tests(program)
    negative_test(program, local("2026-02-16 10:00"))
    negative_test(program, local("2026-03-01 20:00"))
    program.at("2026-03-02 09:00")
    result = program.authorize()
    assert result["expires_at"] == "2026-03-08T23:59:59-04:00"
    return number(result)


def test_A2_a_test_on_march_1_keeps_the_authorization_valid_through_march_8_edt(
    february: Program,
) -> None:
    """Test 03-01 (EST): confirmable at 2026-03-08T23:59:59-04:00, after the jump."""
    auth = frp_tested_march_1(february)
    february.at(datetime.fromisoformat("2026-03-08T23:59:59-04:00"))
    assert february.confirm(auth)["ok"]


def test_A2_denies_a_confirmation_one_second_after_the_edt_expiry(february: Program) -> None:
    """At 2026-03-09T00:00:00-04:00 the authorization of the 03-01 test has expired."""
    auth = frp_tested_march_1(february)
    february.at(datetime.fromisoformat("2026-03-09T00:00:00-04:00"))
    assert_denied(february.confirm(auth), "D1", "A2")


def test_T6_allows_a_subsequent_prescription_7_days_after_a_pre_dst_test(
    february: Program,
) -> None:
    """Last test 03-01: a subsequent prescription late on 03-08 is within 7 days."""
    auth = frp_tested_march_1(february)
    confirmation = number(february.confirm(auth), "confirmation_number")
    assert february.dispense(confirmation)["ok"]
    february.at("2026-03-08 23:30")
    february.survey()
    result = february.authorize()
    assert result["ok"], result
    assert result["initial"] is False


def test_T6_denies_a_subsequent_prescription_8_days_after_a_pre_dst_test(
    february: Program,
) -> None:
    """Last test 03-01: on 03-09 it is 8 days old."""
    auth = frp_tested_march_1(february)
    february.dispense(number(february.confirm(auth), "confirmation_number"))
    february.at("2026-03-09 00:00")
    february.survey()
    assert_denied(february.authorize(), "T6")


@pytest.mark.parametrize(
    ("issued_on", "expires_at"),
    [
        ("2026-02-01 09:00", "2026-03-03T23:59:59-05:00"),
        ("2026-02-06 09:00", "2026-03-08T23:59:59-04:00"),
    ],
)
def test_A2_non_frp_expiry_carries_the_offset_of_its_last_day(
    ledger: Ledger, issued_on: str, expires_at: str
) -> None:
    """30 days from issue ends at 23:59:59 local time, EST or EDT as that day has it."""
    program = started(ledger, issued_on)
    program.ready_male()
    assert program.authorize()["expires_at"] == expires_at


# -- the calendar arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 8, 31), -6, date(2026, 2, 28)),
        (date(2028, 8, 31), -6, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 3, 1), 12, date(2027, 3, 1)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
    ],
)
def test_add_months_clips_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    """Calendar months keep the day of the month, clipped to the month's last day."""
    assert add_months(day, months) == expected


def test_end_of_day_has_the_offset_in_force_that_day() -> None:
    """The last second of 03-07 is EST, of 03-08 EDT."""
    assert end_of_day(date(2026, 3, 7), TZ).isoformat() == "2026-03-07T23:59:59-05:00"
    assert end_of_day(date(2026, 3, 8), TZ).isoformat() == "2026-03-08T23:59:59-04:00"


def test_day_of_uses_the_program_zone() -> None:
    """03:30 UTC on 03-09 is still 03-08 in New York."""
    assert day_of(datetime(2026, 3, 9, 3, 30, tzinfo=UTC), TZ) == date(2026, 3, 8)


@pytest.mark.parametrize(
    ("on", "age"),
    [(date(2026, 3, 13), 17), (date(2026, 3, 14), 18)],
)
def test_age_counts_the_birthday_from_its_first_day(on: date, age: int) -> None:
    """Born 2008-03-14: 17 the day before the 18th birthday, 18 on it."""
    assert age_on(date(2008, 3, 14), on) == age


def test_a_leap_day_birthday_falls_on_march_1_in_common_years() -> None:
    """Born 2008-02-29, the 18th birthday is 2026-03-01."""
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
