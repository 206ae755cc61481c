"""Which aggregates the store's log changed after a position: one query per command, so the
state cache can answer every aggregate nobody else touched without asking the store for it.

The log's positions are in commit order on both stores (SQLite has one writer at a time;
eventsourcing's PostgreSQL recorder locks the table for each insert, so a position is taken and
committed before the next), so "every row after P" read at any moment is every change after P.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteApplicationRecorder

from application.aggregate_rows import events_table, postgres_recorder

MOST_FOLLOWED = 4096
"""Rows read per follow; beyond that the cache trusts none of its states (a process that was
idle while others wrote a great deal reads each aggregate again, once)."""


@dataclass(frozen=True)
class Changes:
    """What the log holds after a position, up to `end`."""

    end: int
    """The log position these changes run to (the last row read, or the log's end)."""
    versions: dict[UUID, int] | None
    """Each changed aggregate's latest version; None when too many rows followed to list
    them (nothing cached before `end` can be trusted)."""


def changes_since(recorder: Any, position: int | None) -> Changes:
    """The aggregates changed after `position` (None: the cache has followed nothing yet, so
    only the log's end is read)."""
    most = MOST_FOLLOWED
    if position is None:
        return Changes(end=recorder.max_notification_id() or 0, versions=None)
    rows = _rows_after(recorder, position, most + 1)
    if len(rows) > most:
        return Changes(end=recorder.max_notification_id() or 0, versions=None)
    versions: dict[UUID, int] = {}
    for _, originator_id, version in rows:
        uid = _uuid(originator_id)
        if uid is None or type(version) is not int:
            # A row no reader can convert (a tampered store): trust nothing.
            return Changes(end=rows[-1][0], versions=None)
        versions[uid] = max(version, versions.get(uid, version))
    return Changes(end=rows[-1][0] if rows else position, versions=versions)


def _uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        return None


def _rows_after(recorder: Any, position: int, limit: int) -> list[tuple[Any, ...]]:
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (
            f"SELECT rowid, originator_id, originator_version FROM {recorder.events_table_name} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (position, limit))
            return [tuple(row) for row in cursor.fetchall()]
    postgres = postgres_recorder(recorder)
    key = (postgres.datastore.schema, postgres.events_table_name)
    query = _POSTGRES_STATEMENTS.get(key)
    if query is None:
        from psycopg.sql import SQL

        query = _POSTGRES_STATEMENTS[key] = (
            SQL(
                "SELECT notification_id, originator_id, originator_version FROM {} "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            )
            .format(events_table(postgres))
            .as_bytes(None)
        )
    with postgres.datastore.get_connection() as connection:
        found = connection.execute(query, (position, limit), prepare=True).fetchall()
    return [tuple(row.values()) for row in found]


_POSTGRES_STATEMENTS: dict[tuple[str, str], bytes] = {}
"""The follow's statement for each (schema, table), composed once."""
