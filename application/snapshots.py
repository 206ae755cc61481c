"""Patient snapshots: a cold read starts from the latest one instead of the first event.

Taken after a commit that passes a multiple of `SNAPSHOT_EVERY` events on a patient, from the
state this process just folded, into eventsourcing's own snapshot store (same database, same
mapper, so encrypted with the events when `REMS_ENCRYPTION_KEY_FILE` is set). A snapshot is
used only if it was folded by this very domain code (`fold_digest`) and the stored event at its
version still has the hash it names; otherwise, or if it cannot be read, the read replays every
event as before. A snapshot that cannot be stored (a store error, another process's snapshot of
the same version) is skipped: the events it stands for are already committed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import EventStore, PersistenceError

import domain
from domain.base import LedgerEvent
from domain.patient_state import PatientState
from domain.snapshots import PatientSnapshot

SNAPSHOT_EVERY = 100
"""Events between a patient's snapshots: a cold read folds at most this many (plus one)."""

log = logging.getLogger("rems.snapshots")


@cache
def fold_digest() -> str:
    """SHA-256 of the domain package's source: the code that folds a state."""
    root = Path(domain.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def latest_snapshot(store: EventStore[UUID], uid: UUID) -> PatientSnapshot | None:
    """The newest readable snapshot of this domain code, or None."""
    try:
        found = list(store.get(uid, desc=True, limit=1))
    except (PersistenceError, ValueError, LookupError) as error:
        # an unreadable row (a renamed class, a changed state model, another key) is not used
        log.info("snapshot not used: %s", type(error).__name__)
        return None
    if not found or not isinstance(found[0], PatientSnapshot):
        return None
    snapshot = found[0]
    return snapshot if snapshot.fold_digest == fold_digest() else None


def start_from_snapshot(
    snapshot: PatientSnapshot, events: Sequence[LedgerEvent]
) -> tuple[PatientState, Sequence[LedgerEvent]] | None:
    """The snapshot's state and the events after it, given the events from its version on;
    None when the event at its version is not the one it was folded up to."""
    if not events or events[0].originator_version != snapshot.originator_version:
        return None
    if events[0].hash != snapshot.state.head_hash:
        return None
    return snapshot.state, events[1:]


def due_snapshots(
    events: Sequence[LedgerEvent], every: int, state_of: Callable[[UUID], object]
) -> list[PatientSnapshot]:
    """Snapshots of the patients whose committed events passed a multiple of `every`, taken
    from their states after the commit (`state_of`, the cache: asked only for those, and used
    only when it holds a patient exactly at its last committed version)."""
    if every <= 0:
        return []
    last: dict[UUID, int] = {}
    due: set[UUID] = set()
    for event in events:
        last[event.originator_id] = event.originator_version
        if event.originator_version % every == 0:
            due.add(event.originator_id)
    snapshots = []
    for uid in due:
        state = state_of(uid)
        if isinstance(state, PatientState) and state.version == last[uid]:
            snapshots.append(
                PatientSnapshot(
                    originator_id=uid,
                    originator_version=state.version,
                    fold_digest=fold_digest(),
                    state=state,
                )
            )
    return snapshots


def store_snapshots(store: EventStore[UUID], snapshots: list[PatientSnapshot]) -> None:
    """Store each snapshot; one that cannot be stored is skipped (it is only a cache)."""
    for snapshot in snapshots:
        try:
            store.put([snapshot])
        except PersistenceError as error:
            log.warning(
                "snapshot at version %d not stored (%s); reads replay from the one before",
                snapshot.originator_version,
                type(error).__name__,
            )
