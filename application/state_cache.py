"""Aggregate states kept between commands, so a decision reads the store only for what changed.

A cached state is never trusted blindly. Either a read asks the store for events after the
cached version (one indexed query that usually returns nothing) and folds them in, or the
state is *current*: the cache has followed the log (`follow`, one query per command that lists
the aggregates changed since the last one) and nobody else changed it since it was read. An
event appended by another process is always seen, exactly as without the cache. What the cache
saves is the replay of the whole history (a patient with years of monthly cycles is decoded
once per process, then moved forward by its new events; this process's own are folded in when
they commit), and, for a current state, the query.

States are frozen pydantic models, shared without copying. The cache is safe across threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

from application.log_follow import Changes
from domain.base import LedgerEvent

Projector = Callable[[Any, Iterable[Any]], Any]
"""Folds events into an aggregate's state (None before its first event)."""

DEFAULT_MAXSIZE = 20_000
"""States kept (least recently used dropped first): a patient's state is a few kilobytes."""


class StateCache:
    """Least-recently-used aggregate states, with the projector that folds each one."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[UUID, tuple[Any, Projector]] = OrderedDict()
        self._current: set[UUID] = set()
        """The entries known to hold every event up to `position`."""
        self.position: int | None = None
        """The log position the cache has followed to (None: not yet)."""
        self._lock = threading.Lock()

    def get(self, uid: UUID) -> Any | None:
        """The cached state of an aggregate, or None."""
        with self._lock:
            entry = self._entries.get(uid)
            if entry is None:
                return None
            self._entries.move_to_end(uid)
            return entry[0]

    def current(self, uid: UUID) -> Any | None:
        """The cached state of an aggregate if it holds every event up to `position`, or None
        (not cached, or changed by someone else since it was read)."""
        with self._lock:
            if uid not in self._current:
                return None
            self._entries.move_to_end(uid)
            return self._entries[uid][0]

    def put(
        self, uid: UUID, state: Any, projector: Projector, read_after: int | None = None
    ) -> None:
        """Keep a state read from the store; an older one never replaces a newer one (two
        threads may read the same aggregate at once). `read_after`: the `position` the cache
        had when the read began; the state is current if the cache has not followed further
        since (without it, the entry stays current only if it was: a state this process moved
        forward by its own commit)."""
        if self.maxsize <= 0:
            return
        with self._lock:
            entry = self._entries.get(uid)
            if entry is not None and entry[0].version > state.version:
                return
            self._entries[uid] = (state, projector)
            self._entries.move_to_end(uid)
            if read_after is not None and read_after == self.position:
                self._current.add(uid)
            elif read_after is not None:
                self._current.discard(uid)
            while len(self._entries) > self.maxsize:
                dropped, _ = self._entries.popitem(last=False)
                self._current.discard(dropped)

    def follow(self, changes: Changes) -> None:
        """Move `position` to the end of the changes read after it: a state another writer
        moved past the cached version is no longer current (the next read asks the store)."""
        with self._lock:
            if changes.versions is None:
                self._current.clear()
            else:
                for uid, version in changes.versions.items():
                    entry = self._entries.get(uid)
                    if entry is None or entry[0].version < version:
                        self._current.discard(uid)
            self.position = max(self.position or 0, changes.end)

    def committed(
        self,
        events: Sequence[LedgerEvent],
        starts: Callable[[LedgerEvent], Projector | None] | None = None,
        read_after: int | None = None,
    ) -> None:
        """Fold events this process just committed into the states they follow; a state that
        is not exactly at the version before them is dropped (read again next time). An
        aggregate they start is kept when `starts` names its projector, current if the cache
        has not followed past `read_after` (the position the command began from) since."""
        by_aggregate: dict[UUID, list[LedgerEvent]] = {}
        for event in events:
            by_aggregate.setdefault(event.originator_id, []).append(event)
        started: list[tuple[UUID, Any, Projector]] = []
        with self._lock:
            for uid, appended in by_aggregate.items():
                entry = self._entries.get(uid)
                if entry is None:
                    projector = starts(appended[0]) if starts is not None else None
                    if projector is not None and appended[0].originator_version == 1:
                        started.append((uid, projector(None, appended), projector))
                    continue
                state, projector = entry
                if state.version + 1 == appended[0].originator_version:
                    self._entries[uid] = (projector(state, appended), projector)
                else:
                    del self._entries[uid]
                    self._current.discard(uid)
        for uid, state, projector in started:
            self.put(uid, state, projector, read_after)

    def evict(self, uids: Iterable[UUID]) -> None:
        """Forget these aggregates (after a conflict on them)."""
        with self._lock:
            for uid in uids:
                self._entries.pop(uid, None)
                self._current.discard(uid)
