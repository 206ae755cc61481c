"""The event store read one aggregate at a time, for `rems verify` and a projection rebuild
(issue 13: memory flat in the size of the history).

Rows come in pages along the store's primary key, `(originator_id, originator_version)` (an
index scan on SQLite and PostgreSQL, resumed after the last key of each page), and are handed
on per aggregate, in log order within it. An aggregate's sequence depends only on its own rows
in log order, so a reader holds one aggregate's rows at a time, never one entry for every
aggregate of the ledger. The columns are read raw (the caller converts them: `audit` makes a
row it cannot convert a finding of its own).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.sqlite import SQLiteApplicationRecorder

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder

    from application.ledger import Ledger

PAGE = 2000
"""Rows read per query."""


@dataclass(frozen=True)
class KeyRange:
    """Aggregate IDs from `low` (inclusive) to `high` (exclusive); None: no bound."""

    low: Any = None
    high: Any = None


WHOLE_STORE = KeyRange()
KeyRanges = list[KeyRange]


def raw_aggregates(
    ledger: Ledger, stop: int, page: int = PAGE, part: KeyRange = WHOLE_STORE
) -> Iterator[list[tuple[Any, ...]]]:
    """Each aggregate's raw rows `(position, originator_id, version, topic, state)` up to log
    position `stop`, in log order, one aggregate after the other. Rows appended while it reads
    are past `stop` and left out, so a decision and its number claim, written together, are
    both read or both not, whichever aggregate comes first."""
    group: list[tuple[Any, ...]] = []
    for raw in _raw_rows(ledger, page, stop, part):
        if group and raw[1] != group[0][1]:
            yield in_log_order(group)
            group = []
        group.append(raw)
    if group:
        yield in_log_order(group)


def state_bytes(state: Any) -> Any:
    """A raw row's state column as bytes (a driver may hand back a `memoryview`); anything
    else as it is, for the caller to judge."""
    return bytes(state) if isinstance(state, memoryview) else state


def in_log_order(group: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(group, key=_raw_position)


def _raw_position(raw: tuple[Any, ...]) -> Any:
    return raw[0]


def _raw_rows(ledger: Ledger, page: int, stop: int, part: KeyRange) -> Iterator[tuple[Any, ...]]:
    recorder = ledger.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        rows = _sqlite_rows(recorder, page, part)
    else:
        rows = _postgres_rows(postgres_recorder(recorder), page, part)
    yield from (row for row in rows if row[0] <= stop)


def split_keys(ledger: Ledger, parts: int, rows: int) -> KeyRanges:
    """`parts` ranges of aggregate IDs holding about `rows / parts` rows each (an aggregate
    is never split: a range is of whole IDs), for verifying the parts side by side."""
    recorder = ledger.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement: Any = (
            f"SELECT originator_id FROM {recorder.events_table_name} "
            "ORDER BY originator_id, originator_version LIMIT 1 OFFSET ?"
        )
        datastore: Any = recorder.datastore
    else:
        from psycopg.sql import SQL

        postgres = postgres_recorder(recorder)
        statement = SQL(
            "SELECT originator_id FROM {} ORDER BY originator_id, originator_version "
            "LIMIT 1 OFFSET %s"
        ).format(events_table(postgres))
        datastore = postgres.datastore
    keys: list[Any] = []
    with datastore.transaction(commit=False) as cursor:
        for index in range(1, parts):
            cursor.execute(statement, (rows * index // parts,))
            found = cursor.fetchone()
            key = None if found is None else _first_column(found)
            if key is not None and (not keys or key > keys[-1]):
                keys.append(key)
    bounds: list[Any] = [None, *keys, None]
    return [KeyRange(low, high) for low, high in itertools.pairwise(bounds)]


def row_tuple(recorder: Any) -> Callable[[Any], tuple[Any, ...]]:
    """Turns a row of the recorder's driver into a tuple (PostgreSQL's rows are dicts)."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return tuple
    return _values


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row.values())


def _first_column(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def postgres_recorder(recorder: Any) -> PostgresApplicationRecorder:
    """The ledger's recorder when it is PostgreSQL's. Its driver loads here, for a ledger on
    PostgreSQL only: on SQLite, `rems verify` and whatever imports `audit` start without it."""
    from eventsourcing.postgres import PostgresApplicationRecorder

    if not isinstance(recorder, PostgresApplicationRecorder):  # pragma: no cover - one of two
        msg = f"cannot read {type(recorder).__name__} by aggregate"
        raise TypeError(msg)
    return recorder


def _sqlite_rows(
    recorder: SQLiteApplicationRecorder, page: int, part: KeyRange
) -> Iterator[tuple[Any, ...]]:
    columns = "rowid, originator_id, originator_version, topic, state"
    table = recorder.events_table_name
    order = "ORDER BY originator_id, originator_version LIMIT ?"
    low = [] if part.low is None else ["originator_id >= ?"]
    high = [] if part.high is None else ["originator_id < ?"]
    first = f"SELECT {columns} FROM {table} {_where(low + high)} {order}"
    after = f"SELECT {columns} FROM {table} {_where([_AFTER, *high])} {order}"
    return paged(recorder, _by_key(first, after, page, part), page, row_tuple(recorder))


_AFTER = "(originator_id, originator_version) > (?, ?)"


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _postgres_rows(
    recorder: PostgresApplicationRecorder, page: int, part: KeyRange
) -> Iterator[tuple[Any, ...]]:
    from psycopg.sql import SQL

    table = events_table(recorder)
    columns = "notification_id, originator_id, originator_version, topic, state"
    order = "ORDER BY originator_id, originator_version LIMIT ?"
    low = [] if part.low is None else ["originator_id >= ?"]
    high = [] if part.high is None else ["originator_id < ?"]
    first = f"SELECT {columns} FROM {{}} {_where(low + high)} {order}".replace("?", "%s")
    after = f"SELECT {columns} FROM {{}} {_where([_AFTER, *high])} {order}".replace("?", "%s")
    execute = _by_key(SQL(first).format(table), SQL(after).format(table), page, part)
    return paged(recorder, execute, page, row_tuple(recorder))


def events_table(recorder: PostgresApplicationRecorder) -> Any:
    """The events table of a PostgreSQL recorder, schema-qualified, as an SQL identifier."""
    from psycopg.sql import SQL, Identifier

    return SQL("{}.{}").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    )


def paged(
    recorder: Any,
    execute: Callable[[Any, tuple[Any, ...] | None], Any],
    page: int,
    as_tuple: Callable[[Any], tuple[Any, ...]],
) -> Iterator[tuple[Any, ...]]:
    """The rows of a paged query, `page` rows per read transaction: `execute(cursor, last)`
    runs it on `cursor` after the last row read (None for the first page)."""
    last: tuple[Any, ...] | None = None
    while True:
        with recorder.datastore.transaction(commit=False) as cursor:
            execute(cursor, last)
            rows = [as_tuple(row) for row in cursor.fetchall()]
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1]


def _by_key(first: Any, after: Any, page: int, part: KeyRange) -> Callable[[Any, Any], Any]:
    """Runs `first`, then `after` from the last row's (originator_id, originator_version),
    within `part`."""
    low = () if part.low is None else (part.low,)
    high = () if part.high is None else (part.high,)

    def execute(cursor: Any, last: tuple[Any, ...] | None) -> Any:
        if last is None:
            return cursor.execute(first, (*low, *high, page))
        return cursor.execute(after, (last[1], last[2], *high, page))

    return execute
