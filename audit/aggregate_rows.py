"""The event store read one aggregate at a time, as `rems verify` and an export check it: each
raw row (`application.aggregate_rows`) as a notification, or as a `BadRow` finding of its own
when its ID column is not a UUID (on SQLite, whose columns are untyped); reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from application.aggregate_rows import (
    PAGE,
    events_table,
    in_log_order,
    postgres_recorder,
    raw_aggregates,
    state_bytes,
)
from audit.digest import BadRow

if TYPE_CHECKING:
    from application.ledger import Ledger


def aggregates_in_store(
    ledger: Ledger, stop: int, page: int = PAGE
) -> Iterator[list[Notification | BadRow]]:
    """`raw_aggregates` as notifications; a row naming no aggregate is a group of its own."""
    for raws in raw_aggregates(ledger, stop, page):
        if as_aggregate(raws[0][1]) is None:
            yield from ([as_row(raw)] for raw in raws)
        else:
            yield [as_row(raw) for raw in raws]


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
        from psycopg.sql import SQL

        postgres = postgres_recorder(recorder)
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {} WHERE originator_id = %s"
        ).format(events_table(postgres))
        with postgres.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (aggregate,))
            raws = [tuple(row.values()) for row in cursor.fetchall()]
    return [as_row(raw) for raw in in_log_order(raws)]


def as_aggregate(originator_id: Any) -> UUID | None:
    """The aggregate a raw row names, or None when its ID column is not a UUID."""
    try:
        return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
    # What the recorder would raise converting the column (e.g. `UUID("junk")`, `UUID(7)`).
    except (ValueError, TypeError, AttributeError):
        return None


def as_row(raw: tuple[Any, ...]) -> Notification | BadRow:
    """A raw row as a notification, or a `BadRow` when its ID column is not a UUID."""
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
        state=state_bytes(state),
    )
