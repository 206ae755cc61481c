"""When a command happens: its instants bounded, its time settled by the clock setting, and no
fact dated in the future (DESIGN.md, "Clock" and `REMS_CLOCK`).

Under the event clock a command's `at` is its time and never runs backwards; under the system
clock a decision happens now (its `at`, when given, within the rule set's tolerance) and a fact's
`at` is never ahead of the server clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from application.bounds import check_in_bounds
from application.errors import InvalidCommand
from domain.calendar import day_of
from domain.ruleset import ruleset_in_force
from infra.settings import ClockMode, Settings

if TYPE_CHECKING:
    from application.commands import Command


def system_now() -> datetime:
    """The server clock, timezone-aware."""
    return datetime.now(UTC)


def settle_time(
    command: Command,
    settings: Settings,
    clock: Callable[[], datetime],
    last_recorded_at: datetime | None,
) -> datetime:
    """The instant the command happens at, once its instants are in bounds and none of its
    facts is future-dated; `invalid` naming the field otherwise."""
    check_in_bounds(_instants_of(command), settings.timezone)
    now = _resolve_now(command, settings, clock, last_recorded_at)
    _check_not_future(command, now, settings)
    return now


def _resolve_now(
    command: Command,
    settings: Settings,
    clock: Callable[[], datetime],
    last_recorded_at: datetime | None,
) -> datetime:
    from application.commands import DECISION_COMMANDS

    if settings.clock is ClockMode.EVENT:
        if command.at is None:
            msg = "at: required under REMS_CLOCK=event (each command's at is its time)."
            raise InvalidCommand(msg, field="at")
        if last_recorded_at is not None and command.at < last_recorded_at:
            msg = (
                f"at: {command.at.isoformat()} is earlier than the ledger's last recorded "
                f"time {last_recorded_at.isoformat()}."
            )
            raise InvalidCommand(msg, field="at")
        return command.at
    now = clock()
    tolerance = timedelta(seconds=ruleset_in_force(now).system_clock_tolerance_seconds)
    if command.at is not None:
        if command.command in DECISION_COMMANDS and abs(command.at - now) > tolerance:
            msg = (
                f"at: a decision happens now; {command.at.isoformat()} is more than "
                f"{tolerance} from the server clock."
            )
            raise InvalidCommand(msg, field="at")
        if command.command not in DECISION_COMMANDS and command.at > now:
            msg = f"at: {command.at.isoformat()} is in the future; facts are never future-dated"
            raise InvalidCommand(msg, field="at")
    return now


def _instants_of(command: Command) -> dict[str, Any]:
    from application.commands import dates_of

    found = dates_of(command)
    if command.at is not None:
        found["at"] = command.at
    return found


def _check_not_future(command: Command, now: datetime, settings: Settings) -> None:
    from application.commands import dates_of

    today = day_of(now, settings.timezone)
    for name, value in dates_of(command).items():
        future = value > now if isinstance(value, datetime) else value > today
        if future:
            msg = f"{name}: {value.isoformat()} is in the future; facts are never future-dated."
            raise InvalidCommand(msg, field=name)
