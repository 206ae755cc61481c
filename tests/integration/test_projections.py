"""The read models (DESIGN.md, "Queries"; issue 4): eligibility and the monthly report, built from
the notification log with a tracked position written in the same transaction as the view rows.

On SQLite and the real PostgreSQL: the read model answers exactly what the live rule engine
answers for every patient of a simulated program, follows appended facts, rebuilds to identical
rows, survives a crash mid-batch without losing or double-applying an event, and two runners on
one database never double-count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from application import queries
from application.errors import NotFound
from application.ledger import Ledger
from application.rebuild_rows import LogByAggregate
from application.views import Views
from domain.base import LedgerEvent
from infra.views import Cursor, ViewDatabase
from projections.eligibility import EligibilityProjection, all_patients, load_patient
from projections.report import ReportProjection
from projections.runner import ProjectionRunner
from projections.view import ViewStore
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.program import Program

DEMO_PATIENTS = 36
DEMO_PATIENT_IDS = ["PT-LAPSED", *[f"PT-{n:05d}" for n in range(1, DEMO_PATIENTS + 1)]]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(module_backend_url: str) -> Iterator[Ledger]:
    """A simulated program of 36 patients (plus a lapsed one), run once per backend."""
    ledger = make_ledger(module_backend_url)
    summary = run_demo(ledger, patients=DEMO_PATIENTS)
    assert summary["authorizations_issued"] > 100, summary
    yield ledger
    ledger.close()


@pytest.fixture
def demo_views(demo: Ledger) -> Iterator[Views]:
    """Read models on the simulated program's database (a new connection per test)."""
    views = Views(demo)
    yield views
    views.close()


# ----------------------------------------------------------------------------- helpers


def instants(ledger: Ledger) -> list[datetime]:
    """The ledger's last recorded time and later instants (a surveys-lapse, an E6-lapse)."""
    last = ledger.last_recorded_at
    assert last is not None
    return [last, last + timedelta(days=3), last + timedelta(days=17), last + timedelta(days=200)]


def stored_count(ledger: Ledger) -> int:
    """How many events the store holds (the notification log's last position)."""
    return ledger.notifications.end()


def rows(database: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table and the tracking table, in a stable order."""
    with database.transaction() as cursor:
        return {
            table: sorted(cursor.fetchall(f"SELECT * FROM {table}"))
            for table in (
                "eligibility_patients",
                "eligibility_participants",
                "report_authorizations",
                "projection_tracking",
            )
        }


def runner_on(ledger: Ledger, projections: list[Any], batch_size: int = 500) -> ProjectionRunner:
    """A runner on its own connection, reading the ledger's log exactly as `Views` does."""
    return ProjectionRunner(
        ViewDatabase(ledger.settings.database_url),
        projections,
        read=ledger.notifications.read,
        decode=ledger.notifications.decode,
        by_aggregate=LogByAggregate(ledger),
        batch_size=batch_size,
    )


def month_totals(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """`{month: (issued, denied)}` of a monthly report."""
    return {m["month"]: (m["issued"], m["denied"]) for m in report["months"]}


class SimulatedCrash(Exception):
    """The process died in the middle of a batch."""


class CrashingReportProjection(ReportProjection):
    """The real report projection, except that it raises on the Nth event it is given."""

    def __init__(self, tz: ZoneInfo, crash_on: int) -> None:
        super().__init__(tz)
        self.crash_on = crash_on
        self.seen = 0

    def process_batch(self, events: Sequence[LedgerEvent], cursor: Cursor) -> None:
        """Count the events as the real projection does, then crash on the Nth (after the
        earlier events of its batch were written)."""
        for index in range(len(events)):
            self.seen += 1
            if self.seen == self.crash_on:
                super().process_batch(events[:index], cursor)
                msg = f"crash while applying event {self.seen}"
                raise SimulatedCrash(msg)
        super().process_batch(events, cursor)


def male_filled(p: Program, patient_id: str) -> None:
    """An adult male enrolled, counseled, authorized, confirmed and dispensed now."""
    p.ready_male(patient_id)
    p.fill(patient_id)


# ----------------------------------------------------------------------------- (a) same answer


def test_read_model_eligibility_equals_rule_engine_for_every_demo_patient(
    demo: Ledger, demo_views: Views
) -> None:
    """For every patient of a simulated program, the read model's eligibility answer is exactly
    the live rule engine's (event replay), at the ledger's last recorded time and later."""
    verdicts: set[bool] = set()
    compared = 0
    for now in instants(demo):
        for patient_id in DEMO_PATIENT_IDS:
            from_view = demo_views.eligibility(patient_id, now)
            live = queries.eligibility(demo, patient_id, now)
            assert from_view == live, (patient_id, now.isoformat())
            verdicts.add(live["eligible"])
            compared += 1
    with demo_views.database.transaction() as cursor:
        assert sorted(p.patient_id for p in all_patients(cursor)) == sorted(DEMO_PATIENT_IDS)
    assert compared == 4 * len(DEMO_PATIENT_IDS)
    assert verdicts == {True, False}, "the program must hold both eligible and ineligible patients"


# ----------------------------------------------------------------------------- (b) kept current


def test_view_answer_changes_when_a_fact_is_appended(any_ledger: Ledger) -> None:
    """The read model is kept current: each appended fact (counseling, the prescriber's
    suspension, a change of prescriber) changes the next answer, always the live engine's."""
    p = Program(any_ledger).participants()
    assert p.enroll("M1", sex="male")["ok"]
    views = Views(any_ledger)
    try:
        before = views.eligibility("M1", p.now)
        assert before["eligible"] is False
        assert [r["rule"] for r in before["reasons"]] == ["K1"]

        p.advance(hours=1).counsel("M1")
        counseled = views.eligibility("M1", p.now)
        assert counseled["eligible"] is True, counseled
        assert counseled["reasons"] == []
        assert counseled == queries.eligibility(any_ledger, "M1", p.now)

        p.advance(hours=1).ok("suspend_prescriber", prescriber_id="DR1", reason="audit finding")
        suspended = views.eligibility("M1", p.now)
        assert suspended["eligible"] is False
        assert {"P1", "P3"} <= {r["rule"] for r in suspended["reasons"]}
        assert suspended == queries.eligibility(any_ledger, "M1", p.now)

        p.advance(hours=1).prescriber("DR2")
        p.ok("change_prescriber", patient_id="M1", prescriber_id="DR2")
        moved = views.eligibility("M1", p.now)
        assert moved["eligible"] is True, moved
        assert moved == queries.eligibility(any_ledger, "M1", p.now)
        with pytest.raises(NotFound):
            views.eligibility("NOBODY", p.now)
    finally:
        views.close()


# ----------------------------------------------------------------------------- (c) rebuild


def test_rebuild_gives_identical_rows_and_answers(demo: Ledger, demo_views: Views) -> None:
    """`rebuild()` drops the views and re-applies the whole log, giving identical rows, the same
    eligibility answers, the same work queue and the same report."""
    now = instants(demo)[0]
    demo_views.runner.catch_up()
    answers = [demo_views.eligibility(pid, now) for pid in DEMO_PATIENT_IDS]
    report = demo_views.report()
    due = demo_views.due(now)
    before = rows(demo_views.database)

    applied = demo_views.runner.rebuild()

    assert applied == stored_count(demo)
    assert demo_views.runner.position() == stored_count(demo)
    assert rows(demo_views.database) == before
    assert [demo_views.eligibility(pid, now) for pid in DEMO_PATIENT_IDS] == answers
    assert demo_views.report() == report
    assert demo_views.due(now) == due
    assert sum(issued for issued, _ in month_totals(report).values()) > 100


# ----------------------------------------------------------------------------- (d) crash/restart


def test_restart_reapplies_nothing(any_ledger: Ledger) -> None:
    """After a catch-up, a new `Views` (a new connection, as after a restart) catches up zero
    events and reports the same counts."""
    p = Program(any_ledger).participants()
    male_filled(p, "M1")
    p.advance(hours=1)
    assert not p.authorize("M2")["ok"]  # not enrolled: not_found, nothing recorded
    assert p.enroll("M2", sex="male")["ok"]
    assert not p.authorize("M2")["ok"]  # K1: denied and recorded
    first = Views(any_ledger)
    try:
        assert first.runner.catch_up() == stored_count(any_ledger)
        report = first.report()
        assert month_totals(report) == {"2026-03": (1, 1)}
    finally:
        first.close()

    restarted = Views(any_ledger)
    try:
        assert restarted.runner.catch_up() == 0
        assert restarted.runner.position() == stored_count(any_ledger)
        assert restarted.report() == report
    finally:
        restarted.close()


def test_crash_mid_batch_leaves_no_partial_rows_and_a_rerun_applies_everything_once(
    any_ledger: Ledger,
) -> None:
    """A projection raising in the middle of a batch rolls the whole batch back: the tracked
    position does not move and no row of that batch is written; a normal runner then applies
    every event exactly once."""
    p = Program(any_ledger).participants()
    male_filled(p, "M1")
    views = Views(any_ledger)
    try:
        assert views.runner.catch_up() == stored_count(any_ledger)
        committed_at = views.runner.position()
        committed_rows = rows(views.database)
        assert month_totals(views.report()) == {"2026-03": (1, 0)}
    finally:
        views.close()

    # The batch the crash interrupts: a new patient, one issued and one denied authorization.
    p.advance(days=1)
    male_filled(p, "M2")
    assert not p.authorize("M2", channel="telephone")["ok"]  # A3, recorded
    new_events = stored_count(any_ledger) - committed_at
    assert new_events > 5

    tz = any_ledger.settings.timezone
    crashing = CrashingReportProjection(tz, crash_on=new_events)  # the batch's last event
    runner = runner_on(any_ledger, [EligibilityProjection(), crashing])
    try:
        with pytest.raises(SimulatedCrash):
            runner.catch_up()
        assert crashing.seen == new_events  # every earlier event of the batch was processed
        assert runner.position() == committed_at
        assert rows(runner.database) == committed_rows
        with runner.database.transaction() as cursor:
            assert load_patient(cursor, "M2") is None
    finally:
        runner.database.close()

    restarted = Views(any_ledger)
    try:
        assert restarted.runner.catch_up() == new_events
        assert restarted.runner.catch_up() == 0
        assert restarted.runner.position() == stored_count(any_ledger)
        report = restarted.report()
        assert month_totals(report) == {"2026-03": (2, 1)}
        # M2's telephone request: A3, and S3 (a male's survey is due after his first dispense).
        assert report["months"][0]["denied_by_rule"] == {"A3": 1, "S3": 1}
        assert restarted.eligibility("M2", p.now)["patient_id"] == "M2"
    finally:
        restarted.close()


def test_crash_in_a_later_batch_keeps_the_committed_batches(any_ledger: Ledger) -> None:
    """With small batches, a crash keeps every batch committed before it (position at the last
    committed batch's end) and a rerun applies only the rest, each event once."""
    p = Program(any_ledger).participants()
    male_filled(p, "M1")
    p.advance(days=1)
    male_filled(p, "M2")
    total = stored_count(any_ledger)
    batch = 4
    crash_on = total - 2  # inside the last batch or the one before; never the first
    committed = ((crash_on - 1) // batch) * batch
    assert 0 < committed < total

    tz = any_ledger.settings.timezone
    runner = runner_on(
        any_ledger, [EligibilityProjection(), CrashingReportProjection(tz, crash_on)], batch
    )
    try:
        with pytest.raises(SimulatedCrash):
            runner.catch_up()
        assert runner.position() == committed
    finally:
        runner.database.close()

    views = Views(any_ledger)
    try:
        assert views.runner.catch_up() == total - committed
        assert month_totals(views.report()) == {"2026-03": (2, 0)}
        reference = rows(views.database)
        assert views.runner.rebuild() == total
        assert rows(views.database) == reference
    finally:
        views.close()


# ----------------------------------------------------------------------------- (e) two runners


def test_two_views_interleaved_never_double_count(any_ledger: Ledger) -> None:
    """Two `Views` on one database, catching up in turn as events arrive, share one tracked
    position: together they apply each event once and both report the same counts."""
    p = Program(any_ledger).participants()
    a, b = Views(any_ledger), Views(any_ledger)
    try:
        male_filled(p, "M1")
        applied_a = a.runner.catch_up()
        p.advance(days=1)
        male_filled(p, "M2")
        applied_b = b.runner.catch_up()
        assert a.runner.catch_up() == 0
        p.advance(days=1)
        assert p.enroll("M3", sex="male")["ok"]
        assert not p.authorize("M3")["ok"]  # K1
        applied_a += a.runner.catch_up()
        assert b.runner.catch_up() == 0
        assert applied_a + applied_b == stored_count(any_ledger)
        expected = {"2026-03": (2, 1)}
        assert month_totals(a.report()) == expected
        assert month_totals(b.report()) == expected
        assert a.report() == b.report()
    finally:
        a.close()
        b.close()


def test_runner_overtaken_mid_batch_rolls_its_batch_back(any_ledger: Ledger) -> None:
    """When another runner commits the same batch between this runner's read and its commit,
    this runner's batch is rolled back (the guarded position moved) and nothing is counted
    twice."""
    p = Program(any_ledger).participants()
    male_filled(p, "M1")
    assert p.enroll("M2", sex="male")["ok"]
    assert not p.authorize("M2")["ok"]  # K1
    tz = any_ledger.settings.timezone
    other = runner_on(any_ledger, [EligibilityProjection(), ReportProjection(tz)])
    reads = 0

    def read_then_let_the_other_runner_win(start: int, limit: int) -> Any:
        nonlocal reads
        reads += 1
        batch = any_ledger.notifications.read(start, limit)
        if reads == 1:
            assert other.catch_up() == stored_count(any_ledger)
        return batch

    slow = ProjectionRunner(
        ViewDatabase(any_ledger.settings.database_url),
        [EligibilityProjection(), ReportProjection(tz)],
        read=read_then_let_the_other_runner_win,
        decode=any_ledger.notifications.decode,
        by_aggregate=LogByAggregate(any_ledger),
    )
    try:
        assert slow.catch_up() == 0
        assert reads == 2  # its batch, then (after the rollback) nothing left
        assert slow.position() == other.position() == stored_count(any_ledger)
        views = Views(any_ledger)
        try:
            assert views.runner.catch_up() == 0
            assert month_totals(views.report()) == {"2026-03": (1, 1)}
            assert views.report()["months"][0]["denied_by_rule"] == {"K1": 1}
        finally:
            views.close()
    finally:
        slow.database.close()
        other.database.close()


def test_two_threads_catching_up_at_once_apply_each_event_once(any_ledger: Ledger) -> None:
    """Two `Views` catching up at the same moment in two threads apply every event once between
    them, and the report counts each authorization once."""
    p = Program(any_ledger).participants()
    for n in range(1, 4):
        male_filled(p, f"M{n}")
        p.advance(days=1)
    total = stored_count(any_ledger)
    Views(any_ledger).close()  # the tables exist (creating them at once: see the next test)
    start = threading.Barrier(2)
    applied: list[int] = []
    errors: list[BaseException] = []

    def catch_up() -> None:
        try:
            views = Views(any_ledger)
            try:
                start.wait(timeout=10)
                applied.append(views.runner.catch_up())
            finally:
                views.close()
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=catch_up) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(applied) == total
    views = Views(any_ledger)
    try:
        assert views.runner.catch_up() == 0
        assert month_totals(views.report()) == {"2026-03": (3, 0)}
    finally:
        views.close()


class HoldingProjection(EligibilityProjection):
    """The real eligibility projection, except that creating its tables waits for a signal, so
    the runner's set-up transaction stays open while another process starts."""

    def __init__(self, holding: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.holding = holding
        self.release = release

    def create_tables(self, cursor: Cursor) -> None:
        """Create the tables, then hold the transaction open until released."""
        super().create_tables(cursor)
        self.holding.set()
        assert self.release.wait(timeout=20)


def waiting_on_a_lock(url: str) -> bool:
    """Whether some session of the database is waiting on a lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.postgres
def test_two_processes_opening_fresh_read_models_at_once_both_work(
    fresh_postgres_url: str,
) -> None:
    """Two runners starting at the same moment on a fresh PostgreSQL database both set up the
    read-model tables without error, and together apply each event once."""
    ledger = make_ledger(fresh_postgres_url)
    try:
        p = Program(ledger).participants()
        male_filled(p, "M1")
        total = stored_count(ledger)
        holding, release = threading.Event(), threading.Event()
        outcomes: dict[str, Any] = {}

        def first() -> None:
            database = ViewDatabase(ledger.settings.database_url)
            try:
                runner = ProjectionRunner(
                    database,
                    [HoldingProjection(holding, release)],
                    read=ledger.notifications.read,
                    decode=ledger.notifications.decode,
                    by_aggregate=LogByAggregate(ledger),
                )
                outcomes["first"] = runner.catch_up()
            except BaseException as error:
                outcomes["first"] = error
                holding.set()
            finally:
                database.close()

        def second() -> None:
            # What `Views(ledger)` does, with the connection closed even when set-up fails.
            database = ViewDatabase(ledger.settings.database_url)
            try:
                runner = ProjectionRunner(
                    database,
                    [EligibilityProjection(), ReportProjection(ledger.settings.timezone)],
                    read=ledger.notifications.read,
                    decode=ledger.notifications.decode,
                    by_aggregate=LogByAggregate(ledger),
                )
                outcomes["second"] = runner.catch_up()
            except BaseException as error:
                outcomes["second"] = error
            finally:
                database.close()

        one = threading.Thread(target=first)
        one.start()
        assert holding.wait(timeout=20)
        two = threading.Thread(target=second)
        two.start()
        for _ in range(200):  # until the second set-up waits on the first one's transaction
            if waiting_on_a_lock(fresh_postgres_url):
                break
            two.join(timeout=0.05)
        release.set()
        one.join(timeout=30)
        two.join(timeout=30)
        assert not isinstance(outcomes.get("first"), BaseException), outcomes
        assert not isinstance(outcomes.get("second"), BaseException), outcomes
        assert outcomes["first"] + outcomes["second"] == total
    finally:
        ledger.close()
