"""On PostgreSQL an append is one call of the recorder's insert function, and that function
locks the events table as eventsourcing's pipelined insert does, so log positions commit in
order (`infra/postgres_recorder.py`; readers after a position rely on it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from application.ledger import Ledger
from infra.postgres_recorder import LockingInsertRecorder
from tests.conftest import make_ledger
from tests.program import Program


@pytest.fixture
def postgres_ledger(fresh_postgres_url: str) -> Iterator[Ledger]:
    """A ledger on its own empty PostgreSQL database."""
    ledger = make_ledger(fresh_postgres_url)
    yield ledger
    ledger.close()


def test_an_append_waits_for_a_writer_holding_the_table_as_the_locked_insert_does(
    postgres_ledger: Ledger, fresh_postgres_url: str
) -> None:
    """Another transaction holds ROW EXCLUSIVE (what a plain INSERT takes, and does not wait
    for): the append waits for it, which only the EXCLUSIVE table lock makes it do, then
    records once the other commits."""
    assert isinstance(postgres_ledger.recorder, LockingInsertRecorder)
    p = Program(postgres_ledger).participants().ready_male("M1")
    table = postgres_ledger.recorder.events_table_name
    results: list[dict[str, Any]] = []
    with psycopg.connect(fresh_postgres_url) as other:
        other.execute(f'LOCK TABLE "{table}" IN ROW EXCLUSIVE MODE')
        append = threading.Thread(
            target=lambda: results.append(
                p.run("record_cbc", patient_id="M1", collected_at=p.now.isoformat())
            )
        )
        append.start()
        append.join(timeout=1.0)
        assert append.is_alive(), "the append did not wait for the table lock"
        other.commit()
    append.join(timeout=30)
    assert results, "the append did not finish once the lock was released"
    assert results[0]["ok"], results
    assert postgres_ledger.patient_state("M1") is not None


def test_each_append_is_one_statement(postgres_ledger: Ledger) -> None:
    """The insert is the function's one call (no separate lock, notify and insert)."""
    p = Program(postgres_ledger).participants().ready_male("M1")
    recorder = postgres_ledger.recorder
    assert isinstance(recorder, LockingInsertRecorder)
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, bytes):
            text = query.decode()
        else:
            text = query if isinstance(query, str) else query.as_string(None)
        statements.append(text)
        return execute(self, query, *args, **kwargs)

    psycopg.Cursor.execute = counted  # type: ignore[method-assign]
    try:
        assert p.run("record_cbc", patient_id="M1", collected_at=p.now.isoformat())["ok"]
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    assert [s for s in statements if recorder.pg_function_name_insert_events in s]
    assert not [s for s in statements if "LOCK TABLE" in s or "INSERT INTO" in s], statements
