"""What `rems verify` must hold across aggregates, kept on disk instead of in memory.

Number claims are checked against the decisions that issued the numbers, and a published
digest against every aggregate's head: both need something of every aggregate, so each is
one row of a private temporary SQLite database (`sqlite3.connect("")`: a file of its own,
deleted on close, which pages to disk past its small cache). The process's memory stays flat
in the size of the ledger (issue 13); the disk holds one short row per decision and head.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from typing import Any
from uuid import UUID

from audit.digest import Digest
from domain.registry import aggregate_id

CLAIM, ISSUED = 0, 1
"""The two sides of a number: the claim of the registry, the decision on the patient."""
BATCH = 5000


@dataclass(frozen=True)
class NumberRecord:
    """One side of a number, as read from the log."""

    kind: str
    number: str
    aggregate: UUID
    version: int
    position: int
    patient_id: str = ""
    """The patient a claim names (empty for a decision)."""


@dataclass(frozen=True)
class NumberPair:
    """A number's claim and its issuing decision (the last of each in log order), either
    possibly missing."""

    kind: str
    number: str
    claim: NumberRecord | None
    issued: NumberRecord | None


@lru_cache(maxsize=4096)
def _patient_aggregate(patient_id: str) -> str:
    """The text of the aggregate a claim's patient ID names (a patient has many claims)."""
    return str(aggregate_id("patient", patient_id))


def _record(row: tuple[Any, ...] | None) -> NumberRecord | None:
    if row is None:
        return None
    kind, number, _, aggregate, version, position, patient_id, _ = row
    return NumberRecord(kind, number, UUID(aggregate), version, position, patient_id)


class Spill:
    """The numbers and heads of the whole log, on disk until the end of the check."""

    def __init__(self, path: str = "") -> None:
        """On a private temporary file, or (for one part of a verify) on `path`."""
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE numbers (kind TEXT, number TEXT, side INTEGER, aggregate TEXT, "
            "version INTEGER, position INTEGER, patient_id TEXT, expected TEXT)"
        )
        self._db.execute("CREATE TABLE heads (line TEXT, aggregate INTEGER)")
        self._numbers: list[tuple[str, str, int, str, int, int, str, str]] = []
        self._heads: list[tuple[str, int]] = []
        self.head_count = 0

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()

    def commit(self) -> None:
        """Write everything kept so far to the file (a part's spill, read by `absorb`)."""
        self._flush()
        self._db.commit()

    def absorb(self, path: str) -> None:
        """Take in the numbers and heads a part's spill committed to `path`."""
        self.commit()
        self._db.execute("ATTACH DATABASE ? AS part", (path,))
        try:
            self._db.execute("INSERT INTO numbers SELECT * FROM part.numbers")
            self._db.execute("INSERT INTO heads SELECT * FROM part.heads")
            count = "SELECT count(*) FROM part.heads WHERE aggregate = 1"
            self.head_count += int(self._db.execute(count).fetchone()[0])
            self._db.commit()
        finally:
            self._db.execute("DETACH DATABASE part")

    def number(self, side: int, record: NumberRecord) -> None:
        """Keep one side of a number."""
        r = record
        self.number_row(
            r.kind, r.number, side, str(r.aggregate), r.version, r.position, r.patient_id
        )

    def number_row(
        self,
        kind: str,
        number: str,
        side: int,
        aggregate: str,
        version: int,
        position: int,
        patient_id: str,
    ) -> None:
        """Keep one side of a number, given as its columns (`aggregate`: the ID's text)."""
        expected = _patient_aggregate(patient_id) if side == CLAIM else ""
        self._numbers.append(
            (kind, number, side, aggregate, version, position, patient_id, expected)
        )
        if len(self._numbers) >= BATCH:
            self._flush()

    def head(self, line: str, aggregate: bool) -> None:
        """Keep one line of the digest (`aggregate`: an aggregate's head, not a bad row)."""
        self._heads.append((line, int(aggregate)))
        self.head_count += int(aggregate)
        if len(self._heads) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO numbers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._numbers)
        self._db.executemany("INSERT INTO heads VALUES (?, ?)", self._heads)
        self._numbers, self._heads = [], []

    def mismatched_pairs(self) -> Iterator[NumberPair]:
        """Every number whose last claim and last issuing decision (in log order) do not match:
        a decision without a claim, or a claim whose patient's aggregate did not issue it. The
        last of each side is chosen by the database (SQLite's `max()` gives the other columns of
        its row) and compared as text; records are built only for what does not match."""
        self._flush()
        rows = self._db.execute(
            "SELECT kind, number, side, aggregate, version, max(position), patient_id, expected "
            "FROM numbers GROUP BY kind, number, side ORDER BY kind, number, side"
        )
        for (kind, number), group in groupby(rows, key=lambda row: (row[0], row[1])):
            last = {row[2]: row for row in group}
            claim, issued = last.get(CLAIM), last.get(ISSUED)
            if claim is None and issued is None:
                continue
            if claim is not None and issued is not None and issued[3] == claim[7]:
                continue
            yield NumberPair(kind, number, _record(claim), _record(issued))

    def digest(self, position: int) -> Digest:
        """The digest of the kept lines (sorted, each ended by a newline) at `position`."""
        self._flush()
        sha = hashlib.sha256()
        for (line,) in self._db.execute("SELECT line FROM heads ORDER BY line"):
            sha.update(f"{line}\n".encode())
        return Digest(position, self.head_count, sha.hexdigest())
