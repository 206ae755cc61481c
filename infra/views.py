"""The read-model database: the same SQL on SQLite and PostgreSQL, one transaction at a time.

Projections write their view rows and their tracking position through `transaction()`, so both
land together or not at all. Statements use `?` placeholders; they are rewritten for psycopg.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.settings import SqliteUrl, create_private_file, parse_database_url
from projections.view import Cursor

if TYPE_CHECKING:
    import psycopg

__all__ = ["Cursor", "ViewDatabase"]


class _SqliteCursor:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._c = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._c.execute(sql, tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._c.executemany(sql, rows)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._c.execute(sql, tuple(params)).fetchone()
        return row

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._c.execute(sql, tuple(params)).fetchall())


class _PostgresCursor:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._c = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._c.execute(sql.replace("?", "%s"), tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._c.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._c.execute(
            sql.replace("?", "%s"), tuple(params)
        ).fetchone()
        return row

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._c.execute(sql.replace("?", "%s"), tuple(params)).fetchall())


class ViewDatabase:
    """A connection to the read-model tables beside the event store."""

    def __init__(self, database_url: str) -> None:
        url = parse_database_url(database_url)
        self._lock = threading.RLock()
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None
        if isinstance(url, SqliteUrl):
            if url.path != ":memory:":
                create_private_file(Path(url.path))
            self._sqlite = sqlite3.connect(
                url.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._sqlite.execute("PRAGMA journal_mode=WAL")
        else:
            import psycopg  # only PostgreSQL deployments pay for the driver's import

            # Autocommit: `transaction()` opens its own block; a `read()` needs none.
            self._pg = psycopg.connect(**url.connect_arguments(), autocommit=True)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One transaction: committed when the block ends, rolled back if it raises. One at a
        time per connection, whichever thread asks."""
        with self._lock:
            yield from self._transaction()

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """Statements that only read, each on its own, outside any transaction: one round trip
        on PostgreSQL, and no write lock on SQLite (where `transaction()` takes one). For a
        single query whose answer needs no other row read with it (a token's lookup)."""
        with self._lock:
            if self._sqlite is not None:
                yield _SqliteCursor(self._sqlite)
            else:
                assert self._pg is not None
                yield _PostgresCursor(self._pg)

    def _transaction(self) -> Iterator[Cursor]:
        if self._sqlite is not None:
            self._sqlite.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteCursor(self._sqlite)
            except BaseException:
                self._sqlite.execute("ROLLBACK")
                raise
            self._sqlite.execute("COMMIT")
            return
        assert self._pg is not None
        with self._pg.transaction():
            yield _PostgresCursor(self._pg)

    def relax_durability(self) -> None:
        """Let this connection's commits return before they reach the disk (SQLite WAL
        `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`): a crashed process loses
        nothing, a power loss (or the database server's crash) may lose the last commits, in
        order. Only for rows whose loss repeats work (the relay's positions: the tail is sent
        again, and dropped by the consumers)."""
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.execute("PRAGMA synchronous=NORMAL")
            if self._pg is not None:
                with self._pg.transaction():
                    self._pg.execute("SET synchronous_commit TO off")

    def close(self) -> None:
        """Close the connection."""
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            self._pg.close()
