"""Aggregate states kept between commands, so a decision reads the store only for what changed.

A cached state is never trusted blindly: every read asks the store for events after the cached
version (one indexed query that usually returns nothing) and folds them in, so an event appended
by another process is always seen, exactly as without the cache. What the cache saves is the
replay of the whole history: a patient with years of monthly cycles is decoded once per process,
then moved forward by its new events (this process's own are folded in when they commit).

States are frozen pydantic models, shared without copying. The cache is safe across threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

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
        self._lock = threading.Lock()

    def get(self, uid: UUID) -> Any | None:
        """The cached state of an aggregate, or None."""
        with self._lock:
            entry = self._entries.get(uid)
            if entry is None:
                return None
            self._entries.move_to_end(uid)
            return entry[0]

    def put(self, uid: UUID, state: Any, projector: Projector) -> None:
        """Keep a state read from the store; an older one never replaces a newer one (two
        threads may read the same aggregate at once)."""
        if self.maxsize <= 0:
            return
        with self._lock:
            entry = self._entries.get(uid)
            if entry is not None and entry[0].version > state.version:
                return
            self._entries[uid] = (state, projector)
            self._entries.move_to_end(uid)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def committed(self, events: Sequence[LedgerEvent]) -> None:
        """Fold events this process just committed into the states they follow; a state that
        is not exactly at the version before them is dropped (read again next time)."""
        by_aggregate: dict[UUID, list[LedgerEvent]] = {}
        for event in events:
            by_aggregate.setdefault(event.originator_id, []).append(event)
        with self._lock:
            for uid, appended in by_aggregate.items():
                entry = self._entries.get(uid)
                if entry is None:
                    continue
                state, projector = entry
                if state.version + 1 == appended[0].originator_version:
                    self._entries[uid] = (projector(state, appended), projector)
                else:
                    del self._entries[uid]

    def evict(self, uids: Iterable[UUID]) -> None:
        """Forget these aggregates (after a conflict on them)."""
        with self._lock:
            for uid in uids:
                self._entries.pop(uid, None)
