"""The event store read one aggregate at a time, for `rems verify` (issue 13: memory flat).

Rows come in pages along the store's primary key, `(originator_id, originator_version)` (an
index scan on SQLite and PostgreSQL, resumed after the last key of each page), and are handed
on per aggregate, in log order within it. An aggregate's sequence depends only on its own rows
in log order, so the verifier holds one aggregate's rows at a time, never one entry for every
aggregate of the ledger. The columns are read raw: a row the recorder could not convert (on
SQLite, whose columns are untyped) becomes a `BadRow` of its own; reading goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from audit.digest import BadRow

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder

    from application.ledger import Ledger

PAGE = 2000
"""Rows read per query."""


def aggregates_in_store(
    ledger: Ledger, stop: int, page: int = PAGE
) -> Iterator[list[Notification | BadRow]]:
    """Each aggregate's rows up to log position `stop`, in log order, one aggregate after the
    other (a row naming no aggregate is a group of its own). Rows appended while it reads are
    past `stop` and left out, so a decision and its number claim, written together, are both
    read or both not, whichever aggregate comes first."""
    group: list[Notification | BadRow] = []
    key: object = None
    for raw in _raw_rows(ledger, page, stop):
        if group and raw[1] != key:
            yield sorted(group, key=_position)
            group = []
        key = raw[1]
        row = _row(ledger, raw)
        if isinstance(row, BadRow):
            yield [row]
        else:
            group.append(row)
    if group:
        yield sorted(group, key=_position)


def rows_of_aggregate(ledger: Ledger, aggregate: UUID) -> list[Notification | BadRow]:
    """One aggregate's rows, in log order (by its primary key: an index lookup)."""
    recorder = ledger.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM "
                f"{recorder.events_table_name} WHERE originator_id = ?",
                (aggregate.hex,),
            )
            raws = [tuple(row) for row in cursor.fetchall()]
    else:
        from psycopg.sql import SQL, Identifier

        postgres = _postgres(recorder)
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {}.{} WHERE originator_id = %s"
        ).format(Identifier(postgres.datastore.schema), Identifier(postgres.events_table_name))
        with postgres.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (aggregate,))
            raws = [tuple(row.values()) for row in cursor.fetchall()]
    return sorted((_row(ledger, raw) for raw in raws), key=_position)


def _position(row: Notification | BadRow) -> int:
    return row.id


def _row(ledger: Ledger, raw: tuple[Any, ...]) -> Notification | BadRow:
    position, originator_id, version, topic, state = raw
    try:
        aggregate = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
    # What the recorder would raise converting the column (e.g. `UUID("junk")`, `UUID(7)`).
    except (ValueError, TypeError, AttributeError) as error:
        return BadRow(position, f"{type(error).__name__}: {error}")
    return Notification(
        id=position,
        originator_id=aggregate,
        originator_version=version,
        topic=topic,
        state=bytes(state) if isinstance(state, memoryview) else state,
    )


def _raw_rows(ledger: Ledger, page: int, stop: int) -> Iterator[tuple[Any, ...]]:
    recorder = ledger.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        rows = _sqlite_rows(recorder, page)
    else:
        rows = _postgres_rows(_postgres(recorder), page)
    yield from (row for row in rows if row[0] <= stop)


def _postgres(recorder: Any) -> PostgresApplicationRecorder:
    """The ledger's recorder when it is PostgreSQL's. Its driver loads here, for a ledger on
    PostgreSQL only: on SQLite, `rems verify` and whatever imports `audit` start without it."""
    from eventsourcing.postgres import PostgresApplicationRecorder

    if not isinstance(recorder, PostgresApplicationRecorder):  # pragma: no cover - one of two
        msg = f"cannot read {type(recorder).__name__} by aggregate"
        raise TypeError(msg)
    return recorder


def _sqlite_rows(recorder: SQLiteApplicationRecorder, page: int) -> Iterator[tuple[Any, ...]]:
    columns = "rowid, originator_id, originator_version, topic, state"
    table = recorder.events_table_name
    first = f"SELECT {columns} FROM {table} ORDER BY originator_id, originator_version LIMIT ?"
    after = (
        f"SELECT {columns} FROM {table} WHERE (originator_id, originator_version) > (?, ?) "
        "ORDER BY originator_id, originator_version LIMIT ?"
    )
    return _paged(recorder, first, after, page, tuple)


def _postgres_rows(recorder: PostgresApplicationRecorder, page: int) -> Iterator[tuple[Any, ...]]:
    from psycopg.sql import SQL, Identifier

    table = SQL("{}.{}").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    )
    columns = SQL("notification_id, originator_id, originator_version, topic, state")
    first = SQL("SELECT {} FROM {} ORDER BY originator_id, originator_version LIMIT %s").format(
        columns, table
    )
    after = SQL(
        "SELECT {} FROM {} WHERE (originator_id, originator_version) > (%s, %s) "
        "ORDER BY originator_id, originator_version LIMIT %s"
    ).format(columns, table)
    return _paged(recorder, first, after, page, lambda row: tuple(row.values()))


def _paged(
    recorder: Any,
    first: Any,
    after: Any,
    page: int,
    as_tuple: Callable[[Any], tuple[Any, ...]],
) -> Iterator[tuple[Any, ...]]:
    """The rows of `first`, then of `after` from the last row's (originator_id,
    originator_version), `page` rows per read transaction."""
    last: tuple[Any, ...] | None = None
    while True:
        with recorder.datastore.transaction(commit=False) as cursor:
            if last is None:
                cursor.execute(first, (page,))
            else:
                cursor.execute(after, (last[1], last[2], page))
            rows = [as_tuple(row) for row in cursor.fetchall()]
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1]
