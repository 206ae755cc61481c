"""Two runners applying the same batch at once on PostgreSQL: the one whose batch fails on the
rows the other committed first gives way to it instead of failing.

PostgreSQL checks `eligibility_patients.patient_id`, a unique key that is not the upsert's
conflict target, before that target, so under load the later of two runners writing the same
new patient can fail with a unique violation instead of updating (seen once in CI)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest

from application.rebuild_rows import LogByAggregate
from domain.base import LedgerEvent
from infra.views import Cursor, ViewDatabase
from projections.eligibility import EligibilityProjection, all_patients
from projections.runner import ProjectionRunner
from tests.conftest import make_ledger
from tests.integration.test_projections import male_filled, stored_count
from tests.program import Program


class CollidingBatch(EligibilityProjection):
    """The real eligibility projection, except that its first batch waits until another runner
    has committed the same batch and then writes a row that collides with one of that runner's
    on `patient_id`, as a concurrent insert of the same new patient does."""

    def __init__(self, started: threading.Event, other_committed: threading.Event) -> None:
        super().__init__()
        self.started = started
        self.other_committed = other_committed
        self.collided = False

    def process_batch(self, events: Sequence[LedgerEvent], cursor: Cursor) -> None:
        """Wait for the other runner's commit, then collide with its row."""
        if not self.collided:
            self.collided = True
            self.started.set()
            assert self.other_committed.wait(timeout=30)
            cursor.execute(
                "INSERT INTO eligibility_patients (aggregate_id, patient_id, state) "
                "VALUES (?, ?, ?)",
                (str(uuid.uuid4()), "M1", "{}"),
            )
        super().process_batch(events, cursor)


def _runner(url: str, projection: EligibilityProjection, ledger: Any) -> ProjectionRunner:
    return ProjectionRunner(
        ViewDatabase(url),
        [projection],
        read=ledger.notifications.read,
        decode=ledger.notifications.decode,
        by_aggregate=LogByAggregate(ledger),
    )


@pytest.mark.postgres
def test_a_runner_whose_batch_collides_with_one_committed_meanwhile_gives_way(
    fresh_postgres_url: str,
) -> None:
    """The second runner reads the batch, the first applies and commits it, the second's write
    of the same patient fails on the unique key: it rolls back, sees the moved position and
    returns without error; each event is applied once and each patient has one row."""
    ledger = make_ledger(fresh_postgres_url)
    try:
        p = Program(ledger).participants()
        for n in range(1, 3):
            male_filled(p, f"M{n}")
        total = stored_count(ledger)
        started, committed = threading.Event(), threading.Event()
        late = _runner(fresh_postgres_url, CollidingBatch(started, committed), ledger)
        early = _runner(fresh_postgres_url, EligibilityProjection(), ledger)
        outcome: dict[str, Any] = {}

        def catch_up_late() -> None:
            try:
                outcome["late"] = late.catch_up()
            except BaseException as error:  # reported in the main thread
                outcome["late"] = error

        thread = threading.Thread(target=catch_up_late)
        thread.start()
        try:
            assert started.wait(timeout=30)
            applied_early = early.catch_up()
        finally:
            committed.set()
            thread.join(timeout=60)
        assert not isinstance(outcome.get("late"), BaseException), outcome
        assert applied_early + outcome["late"] == total
        with early.database.transaction() as cursor:
            patients = [state.patient_id for state in all_patients(cursor)]
        assert patients == ["M1", "M2"]
    finally:
        for runner in (locals().get("late"), locals().get("early")):
            if runner is not None:
                runner.database.close()
        ledger.close()


@pytest.mark.postgres
def test_the_collision_is_a_unique_violation_on_postgresql(fresh_postgres_url: str) -> None:
    """The row `CollidingBatch` writes is refused by PostgreSQL's `patient_id` key, the error
    the runner gives way on (so the test above exercises the real failure)."""
    ledger = make_ledger(fresh_postgres_url)
    try:
        male_filled(Program(ledger).participants(), "M1")
        runner = _runner(fresh_postgres_url, EligibilityProjection(), ledger)
        try:
            runner.catch_up()
            with pytest.raises(psycopg.errors.UniqueViolation), runner.database.transaction() as c:
                c.execute(
                    "INSERT INTO eligibility_patients (aggregate_id, patient_id, state) "
                    "VALUES (?, ?, ?)",
                    (str(uuid.uuid4()), "M1", "{}"),
                )
        finally:
            runner.database.close()
    finally:
        ledger.close()
