"""`rems apply`: JSON Lines in, one JSON result per line out (DESIGN.md, the stable contract).

Lines are applied in groups, each group in one transaction: every line is decided in order on
the ledger's state plus the events of the earlier lines of its group (held, not yet stored),
and the group's events are appended together at its end. Results are given only after that
commit, so a crash never loses a line whose result was printed. If the group's append fails
(a concurrent writer changed one of its aggregates, or the store failed), nothing of it was
stored and the group is applied again one transaction per line, which gives each line the
result it would have had without grouping (its own `conflict`, or the store's error after the
lines before it were recorded).

A group holds only lines that were already available (`available_groups`), so a caller that
writes one line and waits for its result gets it at once.
"""

from __future__ import annotations

import os
import select
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from application.ledger import Ledger
from application.state_cache import Projector
from domain.base import LedgerEvent

GROUP_SIZE = 256
"""Lines per transaction at most."""
READ_SIZE = 1 << 16


class StaleGroupError(Exception):
    """An aggregate held in the group moved in the store under it: the group cannot commit."""


@dataclass
class PendingBatch:
    """The events of a group's lines, held until the group commits."""

    last_recorded_at: datetime | None
    """The ledger's event clock before the group (restored if the group is abandoned)."""
    events: list[LedgerEvent] = field(default_factory=list)
    by_aggregate: dict[UUID, list[LedgerEvent]] = field(default_factory=dict)
    folded: dict[UUID, tuple[Any, int, Any, Projector]] = field(default_factory=dict)
    """Per aggregate: the stored state it was folded on, how many held events are in, the
    state after them, and the projector (so a later read folds only the newer ones)."""

    def hold(self, events: Sequence[LedgerEvent]) -> None:
        """Keep one line's events for the group's commit."""
        self.events.extend(events)
        for event in events:
            self.by_aggregate.setdefault(event.originator_id, []).append(event)

    def state_after(self, uid: UUID, stored: Any, projector: Projector) -> Any:
        """The aggregate's stored state with the group's held events folded in."""
        held = self.by_aggregate.get(uid)
        if not held:
            return stored
        if (stored.version if stored is not None else 0) + 1 != held[0].originator_version:
            raise StaleGroupError(uid)
        base, count, state, _ = self.folded.get(uid, (stored, 0, stored, projector))
        if base is not stored:
            count, state = 0, stored
        if count < len(held):
            state = projector(state, held[count:])
            self.folded[uid] = (stored, len(held), state, projector)
        return state

    def commit_states(self) -> dict[UUID, tuple[Any, Projector]]:
        """The states after the group of the aggregates whose every held event was folded."""
        return {
            uid: (state, projector)
            for uid, (_, count, state, projector) in self.folded.items()
            if count == len(self.by_aggregate[uid])
        }


def apply_lines(
    ledger: Ledger, lines: Iterable[bytes | str], group_size: int = 1
) -> Iterator[dict[str, Any]]:
    """Apply each non-blank line in order; yield its result with `line` (1-based). Lines are
    grouped `group_size` at a time (the default 1: one transaction per line)."""
    group: list[tuple[int, bytes | str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            group.append((number, line))
        if len(group) >= group_size:
            yield from apply_group(ledger, group)
            group = []
    yield from apply_group(ledger, group)


def apply_stream(ledger: Ledger, source: IO[bytes]) -> Iterator[dict[str, Any]]:
    """`rems apply` on a file or pipe: groups of the lines already readable, so a caller that
    writes one line and waits for its result is answered without waiting for more."""
    number = 0
    for lines in available_groups(source):
        group: list[tuple[int, bytes | str]] = []
        for line in lines:
            number += 1
            if line.strip():
                group.append((number, line))
        yield from apply_group(ledger, group)


def apply_group(ledger: Ledger, group: Sequence[tuple[int, bytes | str]]) -> list[dict[str, Any]]:
    """Apply numbered lines in one transaction (or, if that fails, one per line)."""
    if not group:
        return []
    if len(group) > 1:
        batch = PendingBatch(ledger.last_recorded_at)
        ledger.pending_batch = batch
        try:
            results = [{"line": n, **ledger.execute(line)} for n, line in group]
            if batch.events:
                ledger.save(*batch.events)
        # Whatever stopped the group (a conflict, a stale hold, the store), nothing of it was
        # stored; the lines are applied one by one below and meet the failure on their own.
        except Exception:
            ledger.states.evict(batch.by_aggregate)
            ledger.last_recorded_at = batch.last_recorded_at
        else:
            folded = batch.commit_states()
            for uid, (state, projector) in folded.items():
                ledger.states.put(uid, state, projector)
            ledger.states.committed([e for e in batch.events if e.originator_id not in folded])
            ledger.take_due_snapshots(batch.events)
            return results
        finally:
            ledger.pending_batch = None
    return [{"line": n, **ledger.execute(line)} for n, line in group]


def available_groups(source: IO[bytes], group_size: int = GROUP_SIZE) -> Iterator[list[bytes]]:
    """The lines of a file or pipe, in groups of those already readable: a group never waits
    for a line that has not been written yet (each `os.read` returns what is there)."""
    fd = source.fileno()
    rest = b""
    while True:
        chunk = os.read(fd, READ_SIZE)
        if not chunk:
            if rest:
                yield [rest]
            return
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        while lines and _readable(fd) and len(lines) < group_size:
            more = os.read(fd, READ_SIZE)
            if not more:
                break
            lines.extend((rest + more).split(b"\n"))
            rest = lines.pop()
        for start in range(0, len(lines), group_size):
            yield lines[start : start + group_size]


def _readable(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)
