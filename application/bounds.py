"""Bounds on every instant and date that enters the ledger (DESIGN.md, "Commands and their fields").

Every instant and date, birth dates included, is on or after 1900-01-01; under the event clock
an `at` is on or before 2999-12-31; a query's `--as-of` / `--on` lies in 1900-01-01..2999-12-31;
both edges are judged in the program's zone. The bounds keep every later calendar computation
(a window of days or months, a conversion to another offset) inside what Python's datetime can
hold, so no stored value can ever make a later read fail.

Parsing checks a coarse bound on the wall-clock date as written (the zone is not known yet, and
converting `0001-01-01T00:00:00+14:00` to another offset would itself overflow); the ledger then
checks the exact edges in the program's zone (`check_in_bounds`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime

from application.errors import InvalidCommand

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
BOUNDS = f"on or after {FIRST_DAY.isoformat()} and on or before {LAST_DAY.isoformat()}"


def _coarse_instant(value: datetime) -> datetime:
    # One day of slack each side: the largest UTC offset moves a wall-clock date by one day.
    if not date(FIRST_DAY.year - 1, 12, 31) <= value.date() <= date(LAST_DAY.year + 1, 1, 1):
        raise ValueError(f"an instant must be {BOUNDS}")
    return value


def _bounded_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"a date must be {BOUNDS}")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_coarse_instant)]
"""An ISO-8601 instant with offset, within the ledger's bounds (exact edges: `check_in_bounds`)."""
Day = Annotated[date, AfterValidator(_bounded_day)]
"""A `YYYY-MM-DD` date within the ledger's bounds."""


def first_instant(tz: ZoneInfo) -> datetime:
    """1900-01-01T00:00 in the program's zone."""
    return datetime.combine(FIRST_DAY, time(0, 0), tz)


def last_instant(tz: ZoneInfo) -> datetime:
    """The last instant of 2999-12-31 in the program's zone."""
    return datetime.combine(LAST_DAY, time.max, tz)


def instant_in_bounds(value: datetime, tz: ZoneInfo) -> bool:
    """Whether an aware instant lies within the bounds, judged in the program's zone."""
    if not date(FIRST_DAY.year - 1, 12, 31) <= value.date() <= date(LAST_DAY.year + 1, 1, 1):
        return False  # too far out to even convert safely
    return first_instant(tz) <= value <= last_instant(tz)


def check_in_bounds(fields: dict[str, Any], tz: ZoneInfo) -> None:
    """`invalid` naming the first instant or date outside the bounds in the program's zone."""
    for name, value in fields.items():
        inside = (
            instant_in_bounds(value, tz)
            if isinstance(value, datetime)
            else FIRST_DAY <= value <= LAST_DAY
        )
        if not inside:
            msg = f"{name}: {value.isoformat()} is out of bounds; it must be {BOUNDS} ({tz.key})."
            raise InvalidCommand(msg, field=name)
