"""Calendar arithmetic in the program's time zone (RULES.md, "Time").

"Within 24 hours" is a duration between instants; "N days from the date of" counts calendar days
in the program's zone and closes at the end of the last day.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LAST_INSTANT = time(23, 59, 59)


def day_of(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant in the program's zone."""
    return instant.astimezone(tz).date()


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a calendar day in the program's zone."""
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last whole second of a calendar day in the program's zone (`...T23:59:59-04:00`)."""
    return datetime.combine(day, LAST_INSTANT, tzinfo=tz)


def within(instant: datetime, last_second: datetime) -> bool:
    """Whether an instant falls at or before a window's last whole second, fractions included
    (23:59:59.5 is still inside a window that ends at 23:59:59)."""
    return instant < last_second + timedelta(seconds=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (or earlier), clipped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_days(day: date, days: int) -> date:
    """A calendar day `days` later (or earlier)."""
    return day + timedelta(days=days)


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years of age on a day (a birthday counts from its first instant)."""
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def birthday(date_of_birth: date, years: int) -> date:
    """The day a person born on `date_of_birth` turns `years` old (Feb 29 -> Mar 1, as in
    `age_on`)."""
    day = add_months(date_of_birth, 12 * years)
    return day if day.day == date_of_birth.day else day + timedelta(days=1)
