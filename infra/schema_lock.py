"""One process at a time makes the ledger's tables and functions in a PostgreSQL database.

Opening the event store runs eventsourcing's `create_table`: `CREATE TABLE IF NOT EXISTS`,
`CREATE TYPE` and, every time, `CREATE OR REPLACE FUNCTION` for the one-statement insert. Two
sessions doing that at once can fail on PostgreSQL's catalogs ("tuple concurrently updated",
or a duplicate key in `pg_type` on a first start), so two `rems` processes started together on
one database (a relay and `rems serve`, N servers) could stop with exit 3. Measured before this
lock: 6 processes opening one database at once, 5 times, 1 of the 30 failed so.

`making_schema` holds a session advisory lock of the database on a connection of its own for
the block: around opening the event store (`Ledger`) and the API's tables of read models,
tokens and web sessions (`create_app`). SQLite needs none (its DDL takes the file's write
lock). Left as they were: the consumers' own tables (the projection runner already tries its
`CREATE TABLE` three times for the same race).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from infra.settings import PostgresUrl, parse_database_url

SCHEMA_LOCK_KEY = 0x52454D53_5343484D
"""The advisory lock's key ("REMSSCHM"): one per database, whatever the schema."""

_held = threading.local()


@contextmanager
def making_schema(database_url: str) -> Iterator[None]:
    """The block, run while no other process holding this lock makes the schema (a block
    inside another of this thread is the outer one's)."""
    url = parse_database_url(database_url)
    if not isinstance(url, PostgresUrl) or getattr(_held, "locked", False):
        yield
        return
    import psycopg  # only PostgreSQL deployments pay for the driver's import
    from eventsourcing.persistence import OperationalError

    try:
        connection = psycopg.connect(**url.connect_arguments(), autocommit=True)
    except psycopg.OperationalError as error:
        # As the event store reports an unreachable server (`rems` exits 3 on it).
        raise OperationalError(error) from error
    # Closing the connection releases the lock too, whatever the block raised.
    with connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        _held.locked = True
        try:
            yield
        finally:
            _held.locked = False
