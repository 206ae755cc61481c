"""How long a judgement on unchanged states can stand: the first instant at which the rules,
judging the same patient and prescriber states later, could answer differently.

Time enters the rules in two ways only (`domain/rules`, `domain/schedule.py`): the decision's
calendar day in the program's zone (every "N days", "monthly", the age, the rule set in force),
which changes at the next local midnight; and the instant itself, compared with an instant the
states hold (a test collected at, an authorization's last second, a survey completed at), as
is or shifted by T2's window of hours, with a window's last whole second closing one second
later (`within`). So no comparison can turn before the earliest of: the next midnight, and each
instant of the states, itself, one second later, T2's hours later, and one second after that,
each also one microsecond on (a strict comparison turns just after the instant), that is still
to come. A caller reusing an answer before that instant also checks that the
answer judged just before it is the same (an answer that quotes the instant itself, such as
T2's "since", never is), and `tests/application/test_answer_validity.py` samples the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from domain.calendar import add_days, day_of, start_of_day
from domain.rules.context import DecisionTime

ONE_SECOND = timedelta(seconds=1)
ONE_MICROSECOND = timedelta(microseconds=1)


def judgement_stands_until(at: DecisionTime, *states: BaseModel | None) -> datetime:
    """The first instant after `at.now` at which a judgement of `states` could change."""
    hours = timedelta(hours=at.ruleset.t2_hours)
    shifts = [
        base + tick
        for base in (timedelta(0), ONE_SECOND, hours, hours + ONE_SECOND)
        for tick in (timedelta(0), ONE_MICROSECOND)
    ]
    until = start_of_day(add_days(at.day, 1), at.tz)
    for instant in instants_in(states):
        for shift in shifts:
            turn = instant + shift
            if at.now < turn < until:
                until = turn
    if day_of(until - ONE_MICROSECOND, at.tz) != at.day:
        return at.now  # a zone whose midnight is skipped or repeated: nothing stands
    return until


def instants_in(value: Any) -> Iterator[datetime]:
    """Every datetime held anywhere in a value (models, tuples, sets, dicts), at any depth."""
    if isinstance(value, datetime):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from instants_in(getattr(value, name))
    elif isinstance(value, tuple | list | set | frozenset):
        for item in value:
            yield from instants_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from instants_in(item)
