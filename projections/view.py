"""What projections write through, defined here and implemented by the read-model database
(`infra.views.ViewDatabase`): a cursor inside one transaction, and the store that opens it."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Cursor(Protocol):
    """What a projection may do inside a transaction (`?` placeholders on every backend)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once for each row of parameters (one round of calls)."""
        ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Run a query; return its first row."""
        ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; return every row."""
        ...


class ViewStore(Protocol):
    """A database of view rows: one transaction at a time, committed or rolled back whole."""

    def transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor whose writes land together or not at all."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class RowSealer(Protocol):
    """Encrypts the text of a view column that holds patient data (implemented by
    `infra.row_cipher.RowCipher`); `open` also reads text stored before sealing was on."""

    def seal(self, text: str) -> str:
        """The text to store."""
        ...

    def open(self, stored: str) -> str:
        """The text of a stored value."""
        ...
