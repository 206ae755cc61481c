"""A rebuild reads the log one aggregate at a time (`projections.runner`): while it runs the
read models say they cannot answer, an interrupted one says so until the next rebuild, a second
rebuild stops the first, and what is appended meanwhile is taken on by the next catch-up."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pytest

from application.ledger import Ledger
from application.queries import default_now
from application.rebuild_rows import LogByAggregate
from application.views import Views
from entrypoints.cli.main import main
from projections import runner as runner_module
from projections.protocol import AggregateRows, TopicTest
from projections.runner import RebuildUnfinished
from tests.program import Program


def _program(ledger: Ledger) -> Program:
    p = Program(ledger).participants()
    for patient in ("M1", "M2", "M3"):
        p.ready_male(patient)
    p.ready_frp("F1")
    return p


def _rows(views: Views) -> dict[str, list[tuple[Any, ...]]]:
    with views.database.transaction() as cursor:
        return {
            table: cursor.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
            for table in ("eligibility_patients", "eligibility_participants")
        } | {"report": cursor.fetchall("SELECT * FROM report_authorizations ORDER BY 1, 2, 3, 4")}


class InterruptedLog(LogByAggregate):
    """The log by aggregate, calling `between` after the first `after` aggregates."""

    def __init__(self, ledger: Ledger, after: int, between: Any) -> None:
        super().__init__(ledger)
        self.after, self.between = after, between

    def aggregates(self, stop: int, read: TopicTest, whole: TopicTest) -> Iterator[AggregateRows]:
        for index, rows in enumerate(super().aggregates(stop, read, whole)):
            if index == self.after:
                self.between()
            yield rows


def _with_log(views: Views, log: LogByAggregate) -> Views:
    views.runner._by_aggregate = log
    return views


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of a few events, so a rebuild commits several before it ends."""
    monkeypatch.setattr(runner_module, "REBUILD_BATCH", 5)


def test_a_rebuild_gives_the_rows_a_catch_up_in_log_order_gives(any_ledger: Ledger) -> None:
    _program(any_ledger)
    with Views(any_ledger) as views:
        views.runner.catch_up()
        before = _rows(views)
        assert views.runner.rebuild() == any_ledger.notifications.end()
        assert views.runner.position() == any_ledger.notifications.end()
        assert _rows(views) == before
        assert views.runner.catch_up() == 0


def test_during_a_rebuild_a_catch_up_says_the_read_models_cannot_answer(
    any_ledger: Ledger,
) -> None:
    _program(any_ledger)
    seen: list[str] = []

    def ask_meanwhile() -> None:
        with Views(any_ledger) as other, pytest.raises(RebuildUnfinished) as error:
            other.eligibility("M1", default_now(any_ledger))
        seen.append(str(error.value))

    with Views(any_ledger) as views:
        _with_log(views, InterruptedLog(any_ledger, 2, ask_meanwhile)).runner.rebuild()
        assert views.eligibility("M1", default_now(any_ledger))["eligible"] is True
    assert seen == [runner_module.UNFINISHED]


def test_an_interrupted_rebuild_is_reported_until_the_next_rebuild(any_ledger: Ledger) -> None:
    _program(any_ledger)

    def crash() -> None:
        raise KeyboardInterrupt

    with Views(any_ledger) as views:
        views.runner.catch_up()
        before = _rows(views)
        with pytest.raises(KeyboardInterrupt):
            _with_log(views, InterruptedLog(any_ledger, 3, crash)).runner.rebuild()
    with Views(any_ledger) as views:
        with pytest.raises(RebuildUnfinished, match="rems projections rebuild"):
            views.runner.catch_up()
        views.runner.rebuild()
        assert _rows(views) == before


def test_a_second_rebuild_stops_the_first_and_the_rows_are_the_seconds(
    any_ledger: Ledger,
) -> None:
    _program(any_ledger)

    def rebuild_meanwhile() -> None:
        with Views(any_ledger) as other:
            other.runner.rebuild()

    with Views(any_ledger) as views:
        views.runner.catch_up()
        before = _rows(views)
        log = InterruptedLog(any_ledger, 2, rebuild_meanwhile)
        with pytest.raises(RebuildUnfinished, match="another rebuild"):
            _with_log(views, log).runner.rebuild()
        assert views.runner.catch_up() == 0
        assert _rows(views) == before


def test_what_is_appended_during_a_rebuild_is_taken_on_by_the_next_catch_up(
    any_ledger: Ledger,
) -> None:
    p = _program(any_ledger)
    appended: list[int] = []

    def append_meanwhile() -> None:
        assert p.advance(hours=1).ok("suspend_prescriber", prescriber_id="DR1", reason="audit")
        appended.append(any_ledger.notifications.end())

    with Views(any_ledger) as views:
        stop = any_ledger.notifications.end()
        assert _with_log(views, InterruptedLog(any_ledger, 1, append_meanwhile)).runner.rebuild()
        assert views.runner.position() == stop
        assert views.runner.catch_up() == appended[0] - stop
        assert views.eligibility("M1", default_now(any_ledger))["eligible"] is False


def _every(topic: str) -> bool:
    return True


def test_the_log_by_aggregate_hands_each_aggregate_whole_in_log_order(
    any_ledger: Ledger,
) -> None:
    _program(any_ledger)
    every = LogByAggregate(any_ledger, snapshots=False).aggregates(10**9, _every, _every)
    groups: list[Sequence[Any]] = [a.rows for a in every]
    assert sum(len(g) for g in groups) == any_ledger.notifications.end()
    assert len({g[0].originator_id for g in groups}) == len(groups)
    for group in groups:
        assert [row.originator_version for row in group] == sorted(
            row.originator_version for row in group
        )
        assert [row.id for row in group] == sorted(row.id for row in group)


def test_rems_says_an_interrupted_rebuild_and_the_next_rebuild_mends_it(
    any_ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _program(any_ledger)
    for name in ("REMS_ENCRYPTION_KEY_FILE", "REMS_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REMS_DATABASE_URL", any_ledger.settings.database_url)
    monkeypatch.setenv("REMS_CLOCK", "event")
    with Views(any_ledger) as views, views.database.transaction() as cursor:
        cursor.execute("UPDATE projection_tracking SET position = -7 WHERE name = 'views'")
    capfd.readouterr()
    assert main(["projections", "run"]) == 3
    assert main(["due"]) == 3
    err = capfd.readouterr().err
    assert err.count(runner_module.UNFINISHED) == 2, err
    assert main(["projections", "rebuild"]) == 0
    end = any_ledger.notifications.end()
    assert orjson.loads(capfd.readouterr().out) == {"applied": end, "position": end}
    assert main(["projections", "run"]) == 0
