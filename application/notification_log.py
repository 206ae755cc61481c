"""The one reader of the event store's notification log: rows by position, decoded to events.

Projections, the relay, the digest, the CLI and the tests read the log through this, so the
select and the decode live in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic

from domain.base import LedgerEvent
from infra.transcoding import stored_json


class StoredRow(NamedTuple):
    """A row of the log as SQLite holds it: the aggregate ID still its text (the event's model
    reads it as the UUID it is), so rows that are skipped cost no conversion."""

    id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


class NotificationLog:
    """The ledger's events in recorded order, by notification position (from 1)."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID]) -> None:
        self._recorder = recorder
        self._mapper = mapper

    def read(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """At most `limit` rows from position `start` (after it when not inclusive), up to
        `stop`; rows carry `.id` (the position) and the stored event."""
        return self._recorder.select_notifications(
            start=start, limit=limit, stop=stop, inclusive_of_start=inclusive_of_start
        )

    def read_rows(
        self, start: int, limit: int, stop: int | None = None
    ) -> Sequence[Notification | StoredRow]:
        """`read` for a reader that decodes only some rows (a rebuild, the relay): on SQLite
        the rows as stored (`StoredRow`), elsewhere the notifications."""
        recorder = self._recorder
        if not isinstance(recorder, SQLiteApplicationRecorder):
            return self.read(start, limit, stop=stop)
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state FROM "
            f"{recorder.events_table_name} WHERE rowid >= ? AND rowid <= ? ORDER BY rowid LIMIT ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (start, stop if stop is not None else 2**63 - 1, limit))
            return [StoredRow(*row) for row in cursor.fetchall()]

    def decode(self, notification: Any) -> LedgerEvent:
        """The domain event of one row."""
        return cast(LedgerEvent, self._mapper.to_domain_event(notification))

    def events(self, start: int, limit: int) -> list[tuple[int, LedgerEvent]]:
        """At most `limit` decoded events from position `start`, with their positions."""
        return [(row.id, self.decode(row)) for row in self.read(start, limit)]

    def stored_state(self, notification: Any) -> dict[str, Any]:
        """A row's stored state as JSON data (decrypted, decompressed, decoded), without loading
        or validating its event class: the relay builds its messages from it."""
        data = stored_json(self._mapper, notification.state)
        return cast(dict[str, Any], self._mapper.transcoder.decode(data))

    def current_state(self, notification: Any) -> dict[str, Any] | None:
        """`stored_state` when the row is at its event class's current version, so that the data
        is the event's as its model reads it (nothing to upcast); None when it is not, or cannot
        be read: the reader decodes that row instead, and the decoder says what is wrong. A
        rebuild gives the report decisions so (`projections.rebuild_fold`)."""
        try:
            state = self.stored_state(notification)
            current = getattr(resolve_topic(notification.topic), "class_version", 1)
        # Unreadable: decoded instead, the mapper raises its own error for it.
        except Exception:
            return None
        return None if state.get("class_version", 1) < current else state

    def end(self) -> int:
        """The last position (0 while the log is empty)."""
        return self._recorder.max_notification_id() or 0

    def recorded_at(self, position: int) -> datetime | None:
        """When the first event at or after a position was recorded (None past the end), read
        from its stored state alone: no event class is loaded or validated, so a query starts
        without the events' models."""
        rows = self.read(max(position, 1), 1)
        if not rows:
            return None
        return datetime.fromisoformat(self.stored_state(rows[0])["timestamp"])

    def event_from(self, position: int) -> LedgerEvent | None:
        """The first event at or after a position, or None past the end."""
        rows = self.read(max(position, 1), 1)
        return self.decode(rows[0]) if rows else None
