"""A rebuild starts each patient from its latest usable snapshot (`application.rebuild_rows`):
the tables are those a replay of every event gives, fewer events are decoded, a snapshot that
does not match its events (or cannot be read) is passed over, one whose rows disagree is read
again whole, and a forged snapshot that still names the right hash is caught by `rems verify`'s
check of the read models against the events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from application.ledger import Ledger
from application.rebuild_rows import LogByAggregate
from application.views import Views
from audit.findings import ProblemKind
from audit.read_models import check_read_models
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from tests.integration.test_apply_groups import seeded  # noqa: F401
from tests.integration.test_rebuild_by_aggregate import _rows
from tests.integration.test_snapshots import (  # noqa: F401
    CountingLedger,
    apply_cold,
    forge,
    long_history,
    open_ledger,
    program_lines,
)
from tests.program import TZ


def _rebuilt(ledger: Ledger, snapshots: bool) -> dict[str, list[tuple[Any, ...]]]:
    with Views(ledger) as views:
        views.runner._by_aggregate = LogByAggregate(ledger, snapshots=snapshots)
        assert views.runner.rebuild() == ledger.notifications.end()
        return _rows(views)


def _caught_up(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """The tables a catch-up in log order builds from the events alone."""
    with Views(ledger) as views, views.database.transaction() as cursor:
        for table in ("eligibility_patients", "eligibility_participants", "report_authorizations"):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("UPDATE projection_tracking SET position = 0")
    with Views(ledger) as views:
        views.runner.catch_up()
        return _rows(views)


def test_a_rebuild_from_snapshots_gives_the_tables_of_a_replay_of_every_event(
    backend_url: str,
    program_lines: list[bytes],  # noqa: F811
) -> None:
    """A simulated program snapshotted every 3 events: most patients start from a snapshot,
    fewer events are decoded, and every table is the one a replay from the first event gives."""
    _, _, ledger = apply_cold(backend_url, program_lines, 3)
    ledger.close()
    counting = CountingLedger(
        Settings(database_url=backend_url, clock=ClockMode.EVENT, timezone=TZ)
    )
    try:
        log = LogByAggregate(counting)
        started = [a for a in log.aggregates(10**9, _every, _none) if a.start is not None]
        assert len(started) >= 6
        replayed = _caught_up(counting)
        counting.decoded = 0
        assert _rebuilt(counting, snapshots=False) == replayed
        from_events = counting.decoded
        counting.decoded = 0
        assert _rebuilt(counting, snapshots=True) == replayed
        assert counting.decoded < from_events * 0.8, (counting.decoded, from_events)
    finally:
        counting.close()


def _every(topic: str) -> bool:
    return True


def _none(topic: str) -> bool:
    return False


@pytest.mark.parametrize(
    "changes",
    [
        {"cbcs": (), "head_hash": "0" * 64},
        {"cbcs": (), "fold_digest": "another fold"},
        None,
    ],
    ids=["hash-of-another-event", "folded-by-other-code", "unreadable"],
)
def test_a_rebuild_passes_over_a_snapshot_it_cannot_use(
    backend_url: str, changes: dict[str, Any] | None
) -> None:
    """A snapshot naming another event's hash, folded by other code, or that cannot be decoded:
    the patient's row is folded from its first event (every CBC kept)."""
    ledger = open_ledger(backend_url, 0)
    try:
        uid = long_history(ledger, 12)
        if changes is None:
            assert ledger.snapshots is not None
            ledger.snapshots.recorder.insert_events(
                [StoredEvent(uid, 10, "domain.snapshots:PatientSnapshot", b"{")]
            )
        else:
            forge(ledger, uid, 10, **changes)
        starts = [a.start for a in LogByAggregate(ledger).aggregates(10**9, _every, _none)]
        assert starts == [None] * len(starts)
        rebuilt = _rebuilt(ledger, snapshots=True)
        assert rebuilt == _caught_up(ledger)
        assert b"cbcs" in str(rebuilt["eligibility_patients"]).encode()
    finally:
        ledger.close()


def test_rows_that_disagree_on_the_snapshot_are_read_again_whole(backend_url: str) -> None:
    """A snapshot taken while the rebuild reads (its rows name two different latest
    snapshots): the aggregate is read again from its first event, with no start."""
    ledger = open_ledger(backend_url, 5)
    try:
        uid = long_history(ledger, 12)
        last = next(iter(ledger.events.get(uid, desc=True, limit=1))).originator_version
        assert ledger.snapshots is not None
        latest = max(s.originator_version for s in ledger.snapshots.get(uid))

        class Disagreeing(LogByAggregate):
            def _rows(self, stop: int, topics: list[str], whole: list[str]) -> Iterator[Any]:
                for index, raw in enumerate(super()._rows(stop, topics, whole)):
                    yield (*raw[:5], None) if index % 2 else raw

        patient = [
            a
            for a in Disagreeing(ledger).aggregates(10**9, _every, _none)
            if a.aggregate_id == str(uid)
        ]
        assert len(patient) == 1
        assert patient[0].start is None
        assert [r.originator_version for r in patient[0].rows] == list(range(1, last + 1))
        started = [a for a in LogByAggregate(ledger).aggregates(10**9, _every, _none) if a.start]
        assert [(a.aggregate_id, a.start_version) for a in started] == [(str(uid), latest)]
    finally:
        ledger.close()


def test_a_forged_snapshot_naming_the_right_hash_is_caught_by_the_read_model_check(
    backend_url: str,
) -> None:
    """Someone who can write the store forges a snapshot that keeps the head hash but drops
    the CBCs: the rebuild takes it (a snapshot is a cache), and `rems verify`'s check of the
    read models against a replay of the events names the patient's row."""
    ledger = open_ledger(backend_url, 0)
    try:
        uid = long_history(ledger, 12)
        forge(ledger, uid, 10, cbcs=())
        with Views(ledger) as views:
            views.runner.rebuild()
        problems = check_read_models(ledger)
        assert [p.kind for p in problems] == [ProblemKind.READ_MODEL_MISMATCH]
        assert problems[0].aggregate_id == uid
        assert _rebuilt(ledger, snapshots=False) == _caught_up(ledger)
        assert check_read_models(ledger) == []
    finally:
        ledger.close()


def test_an_encrypted_store_is_rebuilt_from_its_encrypted_snapshots(tmp_path: Path) -> None:
    """With `REMS_ENCRYPTION_KEY_FILE` the snapshots are decrypted with the key, the patient
    starts from one, and the sealed rows open to those of a replay of the events."""
    key = tmp_path / "encryption.key"
    create_encryption_key_file(key)
    ledger = open_ledger(f"sqlite:///{tmp_path / 'rems.db'}", 10, key)
    try:
        long_history(ledger, 25)
        started = [a for a in LogByAggregate(ledger).aggregates(10**9, _every, _none) if a.start]
        assert len(started) == 1
        with Views(ledger) as views:
            views.runner.catch_up()
            replayed = views.contents()
            views.runner.rebuild()
            assert views.contents() == replayed
    finally:
        ledger.close()
