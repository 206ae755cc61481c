"""Patient snapshots (issue 13): a cold read starts from the latest snapshot and yields the very
state a full replay gives; decisions and stored events are the same with or without them; a
snapshot that does not match the stored events, or was folded by other code, or cannot be
read, is not used; one that cannot be stored never fails the command; encrypted stores keep
snapshots encrypted."""

from __future__ import annotations

import io
import logging
import sqlite3
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application.ledger import Ledger
from application.snapshots import fold_digest
from application.state_cache import StateCache
from application.unit import Unit
from domain.patient_fold import PatientEvent, project_patient
from domain.snapshots import PatientSnapshot
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo
from tests.integration.test_apply_groups import reseed, seeded, stored_rows  # noqa: F401
from tests.program import TZ, Program


def open_ledger(url: str, every: int, key_file: Path | None = None) -> Ledger:
    """A ledger under the event clock, snapshotting every `every` events of a patient."""
    settings = Settings(
        database_url=url, clock=ClockMode.EVENT, timezone=TZ, encryption_key_file=key_file
    )
    ledger = Ledger(settings)
    ledger.snapshot_every = every
    return ledger


def apply_cold(url: str, lines: list[bytes], every: int) -> tuple[list[Any], list[Any], Ledger]:
    """Apply each line on an empty cache (so every read is cold and starts from a snapshot when
    there is one); the results, the stored rows and the still open ledger."""
    reseed()
    ledger = open_ledger(url, every)
    results = []
    for line in lines:
        ledger.states = StateCache()
        results.append(ledger.execute(line))
    return results, stored_rows(ledger), ledger


def replayed(ledger: Ledger, uid: UUID, upto: int | None = None) -> Any:
    """The patient's state folded from its first event (up to a version)."""
    events = [cast(PatientEvent, e) for e in ledger.events.get(uid, lte=upto)]
    return project_patient(None, events)


def snapshots_of(ledger: Ledger) -> list[PatientSnapshot]:
    """Every stored snapshot of every aggregate."""
    assert ledger.snapshots is not None
    rows = ledger.notifications.read(1, 1_000_000)
    found = []
    for uid in {UUID(str(r.originator_id)) for r in rows}:
        found += [cast(PatientSnapshot, s) for s in ledger.snapshots.get(uid)]
    return found


@pytest.fixture
def program_lines(tmp_path: Path, seeded: None) -> list[bytes]:  # noqa: F811
    """A small simulated program (all six categories, months of cycles) as `rems apply` lines."""
    out = io.BytesIO()
    ledger = Ledger(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'recording.db'}",
            clock=ClockMode.EVENT,
            timezone=TZ,
        )
    )
    run_demo(ledger, patients=6, commands_out=out)
    ledger.close()
    return [line for line in out.getvalue().splitlines() if line.strip()]


def test_decisions_and_stored_events_are_the_same_with_snapshots_as_without(
    backend_url: str, tmp_path: Path, program_lines: list[bytes]
) -> None:
    """A simulated program applied with every read cold gives every line the same result and
    the store the same events whether reads start from snapshots (one every 3 events) or from
    each patient's first event; and each snapshot is exactly the replayed state at its version."""
    without = apply_cold(f"sqlite:///{tmp_path / 'plain.db'}", program_lines, 0)
    with_snapshots = apply_cold(backend_url, program_lines, 3)
    try:
        assert with_snapshots[0] == without[0]
        assert with_snapshots[1] == without[1]
        assert snapshots_of(without[2]) == []
        snapshots = snapshots_of(with_snapshots[2])
        assert len({s.originator_id for s in snapshots}) >= 6
        for snapshot in snapshots:
            state = replayed(with_snapshots[2], snapshot.originator_id, snapshot.originator_version)
            assert snapshot.state.model_dump_json() == state.model_dump_json()
    finally:
        without[2].close()
        with_snapshots[2].close()


class CountingLedger(Ledger):
    """A ledger that counts the stored events it decodes (a spy on our own mapper seam)."""

    name = "rems"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.decoded = 0
        decode = self.mapper.to_domain_event

        def counting(stored: StoredEvent) -> Any:
            self.decoded += 1
            return decode(stored)

        self.mapper.to_domain_event = counting  # type: ignore[method-assign,assignment]  # the spy


def long_history(ledger: Ledger, cbcs: int) -> UUID:
    """M1 enrolled and counseled, then `cbcs` CBC results; its aggregate ID."""
    return more_cbcs(Program(ledger).participants().ready_male("M1"), cbcs)


def more_cbcs(p: Program, cbcs: int) -> UUID:
    """`cbcs` more CBC results of M1, an hour apart; its aggregate ID."""
    for _ in range(cbcs):
        p.advance(hours=1)
        p.ok("record_cbc", patient_id="M1", collected_at=p.now)
    return Unit.patient_aggregate_id("M1")


def test_a_cold_read_decodes_only_the_events_from_the_latest_snapshot_on(
    backend_url: str,
) -> None:
    """A patient of ~250 events snapshotted every 100: a fresh process decodes its snapshot
    at 200 and the events from 200 on, not the whole history, and gets the replayed state."""
    ledger = open_ledger(backend_url, 100)
    uid = long_history(ledger, 245)
    version = ledger.events.get(uid, desc=True, limit=1)
    last = next(iter(version)).originator_version
    ledger.close()
    cold = CountingLedger(Settings(database_url=backend_url, clock=ClockMode.EVENT, timezone=TZ))
    try:
        state = cold._get(uid, project_patient)
        assert state.version == last
        assert cold.decoded == 1 + (last - 200 + 1)  # the snapshot, then events 200..last
        assert state.model_dump_json() == replayed(cold, uid).model_dump_json()
    finally:
        cold.close()


def forge(ledger: Ledger, uid: UUID, version: int, **changes: Any) -> None:
    """Store a snapshot of the replayed state at `version`, with fields changed."""
    assert ledger.snapshots is not None
    state = replayed(ledger, uid, version)
    digest = changes.pop("fold_digest", fold_digest())
    forged = state.model_copy(update=changes)
    ledger.snapshots.put(
        [
            PatientSnapshot(
                originator_id=uid, originator_version=version, fold_digest=digest, state=forged
            )
        ]
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"cbcs": (), "head_hash": "0" * 64},
        {"cbcs": (), "fold_digest": "another fold"},
    ],
    ids=["hash-of-another-event", "folded-by-other-code"],
)
def test_a_snapshot_that_does_not_match_is_not_used(
    backend_url: str, changes: dict[str, Any]
) -> None:
    """A snapshot naming a head hash the stored event at its version does not have, or folded
    by other domain code, is passed over: the read is the full replay (all CBCs kept)."""
    ledger = open_ledger(backend_url, 0)
    uid = long_history(ledger, 12)
    forge(ledger, uid, 10, **changes)
    cold = open_ledger(backend_url, 0)
    try:
        state = cold._get(uid, project_patient)
        assert len(state.cbcs) == 12
        assert state.model_dump_json() == replayed(cold, uid).model_dump_json()
    finally:
        ledger.close()
        cold.close()


def test_an_unreadable_snapshot_is_not_used(backend_url: str) -> None:
    """A snapshot row that cannot be decoded (garbage, as after a change of the state model)
    is passed over and the patient is read from its events."""
    ledger = open_ledger(backend_url, 0)
    uid = long_history(ledger, 5)
    assert ledger.snapshots is not None
    garbage = StoredEvent(
        originator_id=uid,
        originator_version=6,
        topic="domain.snapshots:PatientSnapshot",
        state=b"{",
    )
    ledger.snapshots.recorder.insert_events([garbage])
    cold = open_ledger(backend_url, 0)
    try:
        state = cold._get(uid, project_patient)
        assert len(state.cbcs) == 5
    finally:
        ledger.close()
        cold.close()


def test_a_snapshot_that_cannot_be_stored_never_fails_the_command(
    backend_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another snapshot already holds the version a commit reaches: the command is recorded
    and answered ok, the snapshot is skipped with a warning naming no patient."""
    ledger = open_ledger(backend_url, 0)
    p = Program(ledger).participants().ready_male("M1")
    uid = more_cbcs(p, 5)
    next_version = replayed(ledger, uid).version + 1
    forge(ledger, uid, next_version)
    ledger.snapshot_every = next_version
    try:
        with caplog.at_level(logging.WARNING, logger="rems.snapshots"):
            more_cbcs(p, 1)
        assert replayed(ledger, uid).version == next_version
        assert f"snapshot at version {next_version} not stored" in caplog.text
        assert "M1" not in caplog.text
    finally:
        ledger.close()


def test_snapshots_of_an_encrypted_store_are_encrypted(tmp_path: Path) -> None:
    """With `REMS_ENCRYPTION_KEY_FILE` the snapshot rows hold no name or diagnosis in clear,
    and a fresh ledger with the key reads from them."""
    key = tmp_path / "encryption.key"
    create_encryption_key_file(key)
    url = f"sqlite:///{tmp_path / 'rems.db'}"
    ledger = open_ledger(url, 10, key)
    uid = long_history(ledger, 25)
    ledger.close()
    with sqlite3.connect(tmp_path / "rems.db") as db:
        rows = db.execute("SELECT state FROM stored_snapshots").fetchall()
    assert rows
    assert not any(b"C90.00" in state or b"Pat Test" in state for (state,) in rows)
    cold = CountingLedger(
        Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ, encryption_key_file=key)
    )
    try:
        state = cold._get(uid, project_patient)
        assert cold.decoded < state.version
        assert len(state.cbcs) == 25
    finally:
        cold.close()
