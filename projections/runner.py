"""Follows the event store's notification log and keeps read models current.

Each batch of events is applied to every projection and the tracking position is advanced in the
same transaction, guarded by the position it started from: a crash loses nothing, a restart
re-applies nothing, and two processes catching up at once cannot both apply a batch.

A projection may keep the rows it wrote in memory between batches (it reads each row once, not
once per event); the runner tells it to forget them whenever they may be wrong: a batch that
did not commit, or a start position this runner did not write (another process moved it).
A rebuild decodes only the rows whose event class some projection reads (`event_types`; issue
13: a third of the log is number claims, which no read model holds). Given the log one aggregate
at a time (`AggregateLog`), it folds each aggregate's events whole, writes its row once and
forgets it, one transaction per `REBUILD_BATCH` events: memory is one aggregate's events and
the rows of one batch, whatever the length of the history. Every projection folds each
aggregate from its own events alone (eligibility) or counts events in any order (report), so
the tables end as a replay in log order leaves them. A projection that `starts_from` a state
is given an aggregate's state at a version (a patient's snapshot, when the log has a usable
one) and only the events after it; the others are given every event they read, those before
the start as their stored JSON data when they take them so (`projections.rebuild_fold`).
While it runs, the tracked position holds a negative token of that rebuild: each of its batches
commits only while the token is still there (a second rebuild started since makes the first
stop), and a catch-up meeting it raises `RebuildUnfinished` (the read models are incomplete
until the rebuild ends; one interrupted says so until the next rebuild). Its last batch sets
the position to the end of the log it was asked for; a catch-up takes it on from there.
"""

from __future__ import annotations

import gc
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import PersistenceError

from projections.protocol import AggregateLog, AggregateRows, Projection
from projections.rebuild_fold import AggregateFold, Decoder, StoredReader
from projections.view import Cursor, ViewStore

TRACKING_NAME = "views"
REBUILD_BATCH = 10_000
"""Events per transaction while rebuilding (memory stays bounded by one batch)."""
UNFINISHED = (
    "the read models are being rebuilt, or a rebuild was interrupted: wait for it to end, "
    "or run `rems projections rebuild`"
)
PAGE = 1_000
"""Notifications per read."""

Reader = Callable[[int, int], Sequence[Any]]
"""Reads notifications: (first position, how many) -> rows with `.id`."""


class RebuildUnfinished(PersistenceError):
    """The read models are being rebuilt (or a rebuild was interrupted): they cannot answer."""


class ProjectionRunner:
    """Applies the notification log, in order, to a set of projections."""

    def __init__(
        self,
        database: ViewStore,
        projections: Sequence[Projection],
        read: Reader,
        decode: Decoder,
        by_aggregate: AggregateLog,
        batch_size: int = 500,
        stored: StoredReader | None = None,
    ) -> None:
        """`stored` reads a row's stored state for the projections that take some rows of a
        rebuild so (`projections.rebuild_fold`); without it, a rebuild decodes every row."""
        self.database = database
        self.projections = projections
        self._read = read
        self._decode = decode
        self._by_aggregate = by_aggregate
        self.batch_size = batch_size
        self._kept_at: int | None = None
        """The position the projections' kept rows are at (None: they keep nothing)."""
        self._fold = AggregateFold(projections, decode, stored)
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

    def catch_up(self, batch_size: int | None = None) -> int:
        """Apply every event recorded since the tracked position; return how many."""
        size = batch_size or self.batch_size
        applied = 0
        while True:
            start = self.position()
            if start < 0:
                raise RebuildUnfinished(UNFINISHED)
            if start != self._kept_at:
                self._forget()
            page = self._read(start + 1, min(PAGE, size))
            if not page:
                return applied
            try:
                with self.database.transaction() as cursor:
                    last, count = self._apply(page, size, cursor)
                    moved = cursor.execute(
                        "UPDATE projection_tracking SET position = ? "
                        "WHERE name = ? AND position = ?",
                        (last, TRACKING_NAME, start),
                    )
                    if moved != 1:
                        raise _Overtaken
            except _Overtaken:
                self._forget()
                continue  # another process applied this batch first; ours was rolled back
            except BaseException as error:
                self._forget()
                if isinstance(error, Exception) and self.position() != start:
                    # Another process committed this batch while ours waited on its rows, and
                    # ours failed on them (PostgreSQL checks a unique key that is not the upsert's
                    # conflict target, eligibility_patients.patient_id, before that target).
                    continue
                raise
            self._kept_at = last
            applied += count

    def _apply(self, page: Sequence[Any], size: int, cursor: Cursor) -> tuple[int, int]:
        """Apply `page` and the pages after it, up to `size` rows, one page decoded at a time
        (a batch's memory is one page of events and the rows the projections hold); then
        flush. The last position applied, and how many rows."""
        count = 0
        while True:
            events = [self._decode(row) for row in page]
            for projection in self.projections:
                projection.process_batch(events, cursor)
            count += len(page)
            last: int = page[-1].id
            asked = min(PAGE, size - count)
            if asked <= 0 or len(page) < PAGE:
                break
            page = self._read(last + 1, asked)
            if not page:
                break
        for projection in self.projections:
            projection.flush(cursor)
        return last, count

    def _forget(self) -> None:
        for projection in self.projections:
            projection.forget()
        self._kept_at = None

    def rebuild(self) -> int:
        """Drop every view and build it again from the whole log; return how many log
        entries were passed."""
        token = -1 - secrets.randbelow(2**62)
        stop = self._by_aggregate.end()
        with self.database.transaction() as cursor:
            for projection in self.projections:
                projection.drop_tables(cursor)
                projection.create_tables(cursor)
            cursor.execute(
                "UPDATE projection_tracking SET position = ? WHERE name = ?",
                (token, TRACKING_NAME),
            )
        self._forget()
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._rebuild_by_aggregate(self._by_aggregate, token, stop)
        finally:
            self._forget()
            if collecting:
                gc.enable()

    def _rebuild_by_aggregate(self, log: AggregateLog, token: int, stop: int) -> int:
        """Fold whole aggregates, one transaction per `REBUILD_BATCH` events; the last one
        sets the position to `stop`. A batch's rows are read before its transaction opens (on
        SQLite the store's reads would wait on the read models' write lock, same file), and
        decoded one aggregate at a time inside it. The cyclic collector is paused (`rebuild`)
        and run over the youngest objects after each batch: a batch allocates some 10^5
        objects, none in a cycle, and every automatic full collection they set off walks the
        whole heap again (issue 13: a sixth of a rebuild's time); what a batch leaves in a
        cycle is freed after it."""
        batch: list[AggregateRows] = []
        taken = 0
        for aggregate in log.aggregates(stop, self._fold.is_read, self._fold.is_whole):
            batch.append(aggregate)
            taken += len(aggregate.rows)
            if taken >= REBUILD_BATCH:
                self._rebuild_batch(batch, token)
                batch, taken = [], 0
                gc.collect(0)
        self._rebuild_batch(batch, token, finish_at=stop)
        return log.entries(stop)

    def _rebuild_batch(
        self, aggregates: list[AggregateRows], token: int, finish_at: int | None = None
    ) -> None:
        with self.database.transaction() as cursor:
            self._hold(cursor, token)
            for aggregate in aggregates:
                self._fold.fold(aggregate, cursor)
            for projection in self.projections:
                projection.flush(cursor)
            if finish_at is not None:
                cursor.execute(
                    "UPDATE projection_tracking SET position = ? WHERE name = ?",
                    (finish_at, TRACKING_NAME),
                )
        self._forget()

    @staticmethod
    def _hold(cursor: Cursor, token: int) -> None:
        """Go on only while this rebuild's token holds the position (row-locked till commit)."""
        held = cursor.execute(
            "UPDATE projection_tracking SET position = ? WHERE name = ? AND position = ?",
            (token, TRACKING_NAME, token),
        )
        if held != 1:
            msg = "another rebuild of the read models started while this one ran"
            raise RebuildUnfinished(msg)


class _Overtaken(Exception):
    """The tracked position moved under this batch."""
