"""When and under which rules a decision is taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.calendar import day_of
from domain.ruleset import RuleSet, ruleset_in_force


@dataclass(frozen=True)
class DecisionTime:
    """The instant of a decision, the program's zone and the rule set in force."""

    now: datetime
    tz: ZoneInfo
    ruleset: RuleSet

    @classmethod
    def in_force(cls, now: datetime, tz: ZoneInfo) -> DecisionTime:
        """The decision time at `now`, under the rule set in force on that day in the zone."""
        return cls(now=now, tz=tz, ruleset=ruleset_in_force(day_of(now, tz)))

    @property
    def day(self) -> date:
        """The decision's calendar date in the program's zone."""
        return day_of(self.now, self.tz)
