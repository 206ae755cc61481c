"""The log as a rebuild reads it (`projections.runner.AggregateLog`): one aggregate at a time,
and each patient started from its latest usable snapshot (issue 13).

A patient's eligibility row is its folded state, and a snapshot is that state at a version.
So a rebuild folds only a patient's events after its snapshot; of the events up to it, it reads
only those of the topics some projection needs whole (the report's decisions). The store
filters the rows (one query in primary-key order, each row carrying the version of its
aggregate's latest snapshot as the query saw it), so the rows nobody reads are never handed to
Python: number claims, person-index entries, and a patient's earlier facts.

A snapshot is used only as `Ledger.patient_state` uses one: folded by this domain code, and
naming the hash the stored event at its version still has; that event must also be in the log
up to `stop`, with every event after it. Otherwise, or when its rows disagree on the snapshot
(one was taken while the rebuild read), the aggregate's rows are read again whole and folded
from its first event. A snapshot is a cache, never evidence: `rems verify` builds the read
models from the events alone and names every row that differs (`audit.read_models`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from eventsourcing.persistence import PersistenceError
from eventsourcing.sqlite import SQLiteApplicationRecorder

from application.aggregate_rows import (
    events_table,
    paged,
    postgres_recorder,
    row_tuple,
    state_bytes,
)
from application.notification_log import StoredRow
from application.snapshots import fold_digest
from domain.patient_state import PatientState
from domain.snapshots import PatientSnapshot
from projections.protocol import AggregateRows, TopicTest

if TYPE_CHECKING:
    from application.ledger import Ledger

PAGE = 2000
"""Rows read per query."""

_Raw = tuple[Any, ...]
"""`(position, originator_id, version, topic, state, snapshot version or None)`."""


class LogByAggregate:
    """The ledger's log one aggregate at a time, up to `stop` when given; with `snapshots`
    (and a ledger that takes them), each patient started from its latest usable snapshot."""

    def __init__(self, ledger: Ledger, stop: int | None = None, snapshots: bool = True) -> None:
        self.ledger = ledger
        self.stop = stop
        self.snapshots = snapshots and ledger.snapshots is not None

    def end(self) -> int:
        """The last position a rebuild takes in."""
        end = self.ledger.notifications.end()
        return end if self.stop is None else min(end, self.stop)

    def entries(self, stop: int) -> int:
        """How many entries the log holds up to `stop`."""
        with _Query(self.ledger, "SELECT count(*) FROM {events} WHERE {position} <= ?") as run:
            return int(run((stop,))[0][0])

    def aggregates(self, stop: int, read: TopicTest, whole: TopicTest) -> Iterator[AggregateRows]:
        """Each aggregate's rows of the topics `read` takes, up to `stop`, in log order, one
        aggregate after the other; a patient with a usable snapshot as that state and, up to
        its version, only the rows of the topics `whole` takes."""
        topics = [t for t in self._topics(stop) if read(t)]
        needed_whole = [t for t in topics if whole(t)]
        group: list[_Raw] = []
        for raw in self._rows(stop, topics, needed_whole):
            if group and raw[1] != group[0][1]:
                yield self._aggregate(group, stop, topics)
                group = []
            group.append(raw)
        if group:
            yield self._aggregate(group, stop, topics)

    def _topics(self, stop: int) -> list[str]:
        with _Query(
            self.ledger, "SELECT DISTINCT topic FROM {events} WHERE {position} <= ?"
        ) as run:
            return sorted(str(row[0]) for row in run((stop,)))

    def _rows(self, stop: int, topics: list[str], whole: list[str]) -> Iterator[_Raw]:
        latest = (
            "LEFT JOIN (SELECT originator_id, max(originator_version) AS version "
            "FROM {snapshots} GROUP BY originator_id) s ON s.originator_id = e.originator_id"
            if self.snapshots
            else "LEFT JOIN (SELECT CAST(NULL AS INTEGER) AS version) s ON 1 = 1"
        )
        columns = "e.{position}, e.originator_id, e.originator_version, e.topic, e.state, s.version"
        where = (
            "e.{position} <= ? AND e.topic IN {topics} "
            "AND (e.topic IN {whole} OR e.originator_version >= coalesce(s.version, 0))"
        )
        select = f"SELECT {columns} FROM {{events}} e {latest} WHERE {where}"
        ledger = self.ledger
        first = _statement(ledger, f"{select} {_ORDER}")
        after = _statement(
            ledger, f"{select} AND (e.originator_id, e.originator_version) > (?, ?) {_ORDER}"
        )
        params = (stop, _in(ledger, topics), _in(ledger, whole))
        recorder = ledger.recorder
        return paged(
            recorder,
            lambda cursor, last: cursor.execute(
                first if last is None else after,
                (*params, PAGE) if last is None else (*params, last[1], last[2], PAGE),
            ),
            PAGE,
            row_tuple(recorder),
        )

    def _aggregate(self, group: list[_Raw], stop: int, topics: list[str]) -> AggregateRows:
        uid = _uuid(group[0][1])
        key = str(uid)
        versions = {raw[5] for raw in group}
        if versions == {None}:
            return AggregateRows(key, _stored_rows(group))
        if len(versions) == 1:
            (version,) = versions
            state = self._started(group, uid, int(version))
            if state is not None:
                return AggregateRows(key, _stored_rows(group), state, int(version))
        return AggregateRows(key, _stored_rows(self._whole(group[0][1], stop, topics)))

    def _started(self, group: list[_Raw], uid: UUID, version: int) -> PatientState | None:
        """The snapshot's state at `version`, when it is usable for these rows."""
        tail = [raw for raw in group if raw[2] >= version]
        if [raw[2] for raw in tail] != list(range(version, version + len(tail))):
            return None
        snapshot = self._snapshot(uid, version)
        if snapshot is None or snapshot.fold_digest != fold_digest():
            return None
        at_version = _stored_rows(tail[:1])[0]
        try:
            stored_hash = self.ledger.notifications.stored_state(at_version).get("hash")
        # An unreadable event: folded from the first event, the decoder says what is wrong.
        except Exception:
            return None
        return snapshot.state if stored_hash == snapshot.state.head_hash else None

    def _snapshot(self, uid: UUID, version: int) -> PatientSnapshot | None:
        store = self.ledger.snapshots
        if store is None:
            return None
        try:
            found = list(store.get(uid, gt=version - 1, lte=version))
        except (PersistenceError, ValueError, LookupError):
            return None
        return found[0] if len(found) == 1 and isinstance(found[0], PatientSnapshot) else None

    def _whole(self, originator_id: Any, stop: int, topics: list[str]) -> list[_Raw]:
        statement = (
            "SELECT e.{position}, e.originator_id, e.originator_version, e.topic, e.state, "
            "CAST(NULL AS INTEGER) FROM {events} e WHERE e.originator_id = ? AND e.{position} <= ? "
            "AND e.topic IN {topics} ORDER BY e.originator_version"
        )
        with _Query(self.ledger, statement) as run:
            return run((originator_id, stop, _in(self.ledger, topics)))


_ORDER = "ORDER BY e.originator_id, e.originator_version LIMIT ?"


def _uuid(originator_id: Any) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))


def _stored_rows(raws: Sequence[_Raw]) -> list[StoredRow]:
    rows = [StoredRow(p, a, v, t, state_bytes(s)) for p, a, v, t, s, _ in raws]
    rows.sort(key=_position)
    return rows


def _position(row: StoredRow) -> int:
    return row.id


def _is_sqlite(ledger: Ledger) -> bool:
    return isinstance(ledger.recorder, SQLiteApplicationRecorder)


def _statement(ledger: Ledger, text: str) -> Any:
    """The statement for the ledger's store: `{events}`, `{snapshots}`, `{position}` and the
    `IN {topics}`/`IN {whole}` lists filled in, `?` its placeholders."""
    if _is_sqlite(ledger):
        recorder = ledger.recorder
        assert isinstance(recorder, SQLiteApplicationRecorder)
        return text.format(
            events=recorder.events_table_name,
            snapshots=_snapshots_table(ledger),
            position="rowid",
            topics="(SELECT value FROM json_each(?))",
            whole="(SELECT value FROM json_each(?))",
        )
    from psycopg.sql import SQL, Identifier

    postgres = postgres_recorder(ledger.recorder)
    schema = Identifier(postgres.datastore.schema)
    text = text.replace("IN {topics}", "= ANY({topics})").replace("IN {whole}", "= ANY({whole})")
    return SQL(text.replace("?", "%s")).format(
        events=events_table(postgres),
        snapshots=SQL("{}.{}").format(schema, Identifier(_snapshots_table(ledger))),
        position=SQL("notification_id"),
        topics=SQL("%s::text[]"),
        whole=SQL("%s::text[]"),
    )


def _snapshots_table(ledger: Ledger) -> str:
    store = ledger.snapshots
    name = getattr(store.recorder, "events_table_name", None) if store else None
    return str(name or "stored_snapshots")


def _in(ledger: Ledger, topics: list[str]) -> Any:
    """A list of topics as the statement's parameter: JSON text for SQLite, an array for
    PostgreSQL."""
    if _is_sqlite(ledger):
        return orjson.dumps(topics).decode()
    return topics


class _Query:
    """One read transaction running one statement: `with _Query(ledger, text) as run:`."""

    def __init__(self, ledger: Ledger, text: str) -> None:
        self._ledger = ledger
        self._statement = _statement(ledger, text)
        self._transaction: Any = None

    def __enter__(self) -> Callable[[tuple[Any, ...]], list[_Raw]]:
        self._transaction = self._ledger.recorder.datastore.transaction(commit=False)  # type: ignore[attr-defined]
        cursor = self._transaction.__enter__()
        as_tuple = row_tuple(self._ledger.recorder)

        def run(params: tuple[Any, ...]) -> list[_Raw]:
            cursor.execute(self._statement, params)
            return [as_tuple(row) for row in cursor.fetchall()]

        return run

    def __exit__(self, *exc: Any) -> None:
        self._transaction.__exit__(*exc)
