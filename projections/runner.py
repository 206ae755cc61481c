"""Follows the event store's notification log and keeps read models current.

Each batch of events is applied to every projection and the tracking position is advanced in the
same transaction, guarded by the position it started from: a crash loses nothing, a restart
re-applies nothing, and two processes catching up at once cannot both apply a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from domain.base import LedgerEvent
from projections.view import Cursor, ViewStore

TRACKING_NAME = "views"

Reader = Callable[[int, int], Sequence[Any]]
"""Reads notifications: (first position, how many) -> rows with `.id`."""
Decoder = Callable[[Any], LedgerEvent]
"""Turns a notification into its domain event."""


class Projection(Protocol):
    """A read model built from the ledger's events."""

    def create_tables(self, cursor: Cursor) -> None:
        """Create the projection's tables if they do not exist."""
        ...

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop the projection's tables (for a rebuild)."""
        ...

    def process(self, event: LedgerEvent, cursor: Cursor) -> None:
        """Apply one event to the view rows."""
        ...


class ProjectionRunner:
    """Applies the notification log, in order, to a set of projections."""

    def __init__(
        self,
        database: ViewStore,
        projections: Sequence[Projection],
        read: Reader,
        decode: Decoder,
        batch_size: int = 500,
    ) -> None:
        self.database = database
        self.projections = projections
        self._read = read
        self._decode = decode
        self.batch_size = batch_size
        for attempt in range(3):
            try:
                self._create_tables()
                break
            except Exception:
                # PostgreSQL's CREATE TABLE IF NOT EXISTS races with another process creating
                # the same table at the same moment; the second attempt finds it there.
                if attempt == 2:
                    raise

    def _create_tables(self) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS projection_tracking "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO projection_tracking (name, position) VALUES (?, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (TRACKING_NAME,),
            )
            for projection in self.projections:
                projection.create_tables(cursor)

    def position(self) -> int:
        """The last log position applied."""
        with self.database.transaction() as cursor:
            row = cursor.fetchone(
                "SELECT position FROM projection_tracking WHERE name = ?", (TRACKING_NAME,)
            )
        return int(row[0]) if row else 0

    def catch_up(self) -> int:
        """Apply every event recorded since the tracked position; return how many."""
        applied = 0
        while True:
            start = self.position()
            rows = self._read(start + 1, self.batch_size)
            if not rows:
                return applied
            try:
                with self.database.transaction() as cursor:
                    for row in rows:
                        event = self._decode(row)
                        for projection in self.projections:
                            projection.process(event, cursor)
                    moved = cursor.execute(
                        "UPDATE projection_tracking SET position = ? "
                        "WHERE name = ? AND position = ?",
                        (rows[-1].id, TRACKING_NAME, start),
                    )
                    if moved != 1:
                        raise _Overtaken
            except _Overtaken:
                continue  # another process applied this batch first; ours was rolled back
            applied += len(rows)

    def rebuild(self) -> int:
        """Drop every view, start again from position 0, and catch up."""
        with self.database.transaction() as cursor:
            for projection in self.projections:
                projection.drop_tables(cursor)
                projection.create_tables(cursor)
            cursor.execute(
                "UPDATE projection_tracking SET position = 0 WHERE name = ?", (TRACKING_NAME,)
            )
        return self.catch_up()


class _Overtaken(Exception):
    """The tracked position moved under this batch."""
