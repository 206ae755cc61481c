"""The log tree and the heads tree (AUDIT-FORMAT.md §2-3), kept beside the events.

The log tree's nodes are derived from the notification log and cached by position in side
tables, caught up on read from the last cached position (like the projections): eventsourcing's
recorder owns the events' transaction, so the tree is not written in it. Every perfect, aligned
subtree is stored once (`log_tree_nodes`, level 0 the leaves), so a root, an inclusion or a
consistency proof reads O(log n) nodes in one query and an append writes O(1) nodes amortised.
`log_tree_heads` holds each aggregate's head at the cached size, for the heads tree, which is
rebuilt per tree head (it grows with aggregates, not events).

The cache is a convenience, never evidence: `rems verify --sth` recomputes both trees from the
rows (`recompute`) and compares.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit.digest import BadRow, read_log
from audit.merkle import Node, Range, node_hash, perfect_parts, range_hash
from audit.tree_leaves import (
    UNREADABLE,
    HeadsTree,
    Leaf,
    Recomputed,
    head_leaf_data,
    heads_of,
    leaves_of_rows,
    log_leaf_data,
    recompute,
)
from infra.views import Cursor, ViewDatabase

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from application.ledger import Ledger

TRACKING = "log"
BATCH = 2000

__all__ = [
    "HeadsTree",
    "Leaf",
    "LogTree",
    "Recomputed",
    "Snapshot",
    "TreeReader",
    "head_leaf_data",
    "heads_of",
    "log_leaf_data",
    "recompute",
]


@dataclass(frozen=True)
class Snapshot:
    """The cached trees at one moment: the log tree's size, last position, root and heads."""

    tree_size: int
    last_position: int
    root: bytes
    heads: HeadsTree


class LogTree:
    """The cached log tree of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.database = ViewDatabase(ledger.settings.database_url)
        for attempt in range(3):
            try:
                self._create_tables()
                break
            # PostgreSQL's CREATE TABLE IF NOT EXISTS races with another process creating the
            # same table at the same moment; the next attempt finds it there.
            except Exception:
                if attempt == 2:
                    self.database.close()
                    raise

    def close(self) -> None:
        """Close the connection."""
        self.database.close()

    def __enter__(self) -> LogTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create_tables(self) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS log_tree_state (name TEXT PRIMARY KEY, "
                "size BIGINT NOT NULL, last_position BIGINT NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO log_tree_state (name, size, last_position) VALUES (?, 0, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (TRACKING,),
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS log_tree_leaves (leaf_index BIGINT PRIMARY KEY, "
                "position BIGINT NOT NULL UNIQUE, originator_id TEXT NOT NULL, "
                "version BIGINT NOT NULL, hash TEXT NOT NULL)"
            )
            # One aggregate's leaves (an export's inclusion proofs) without a scan of the log.
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS log_tree_leaves_by_aggregate "
                "ON log_tree_leaves (originator_id, position)"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS log_tree_nodes (level INTEGER NOT NULL, "
                "node_index BIGINT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (level, node_index))"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS log_tree_heads (originator_id TEXT PRIMARY KEY, "
                "version BIGINT NOT NULL, hash TEXT NOT NULL)"
            )

    # ------------------------------------------------------------------ catching up
    def catch_up(self) -> int:
        """Take every row recorded since the cached size into the tree; return how many."""
        added = 0
        with self.database.transaction() as cursor:
            cached = self._state(cursor)[1]
        if cached >= self.ledger.notifications.end():
            return added
        while True:
            with self.database.transaction() as cursor:
                size, last = self._lock(cursor)
                rows = list(leaves_of_rows(self.ledger, _rows_after(self.ledger, last, BATCH)))
                if not rows:
                    return added
                self._append(cursor, size, rows)
                cursor.execute(
                    "UPDATE log_tree_state SET size = ?, last_position = ? WHERE name = ?",
                    (size + len(rows), rows[-1].position, TRACKING),
                )
            added += len(rows)

    def _lock(self, cursor: Cursor) -> tuple[int, int]:
        """Take the tree's row lock (a no-op update) and read its size and last position."""
        cursor.execute("UPDATE log_tree_state SET size = size WHERE name = ?", (TRACKING,))
        return self._state(cursor)

    @staticmethod
    def _state(cursor: Cursor) -> tuple[int, int]:
        row = cursor.fetchone(
            "SELECT size, last_position FROM log_tree_state WHERE name = ?", (TRACKING,)
        )
        assert row is not None, "the tracking row is created with the tables"
        return int(row[0]), int(row[1])

    def _append(self, cursor: Cursor, size: int, leaves: list[Leaf]) -> None:
        parts = perfect_parts((0, size))
        frontier = dict(zip(parts, self._nodes(cursor, parts), strict=True))
        nodes: list[tuple[int, int, str]] = []
        heads: dict[str, Leaf] = {}
        for offset, leaf in enumerate(leaves):
            index = size + offset
            level, value = 0, leaf.leaf_hash
            nodes.append((0, index, value.hex()))
            while index & 1:
                left = frontier.pop((level, index - 1))
                level, index, value = level + 1, index >> 1, node_hash(left, value)
                nodes.append((level, index, value.hex()))
            frontier[(level, index)] = value
            kept = heads.get(leaf.originator_id)
            if leaf.originator_id != UNREADABLE and (kept is None or leaf.version > kept.version):
                heads[leaf.originator_id] = leaf
        cursor.executemany(
            "INSERT INTO log_tree_leaves (leaf_index, position, originator_id, version, hash) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (size + offset, leaf.position, leaf.originator_id, leaf.version, leaf.hash)
                for offset, leaf in enumerate(leaves)
            ],
        )
        cursor.executemany(
            "INSERT INTO log_tree_nodes (level, node_index, hash) VALUES (?, ?, ?)", nodes
        )
        # Each aggregate's latest version in the batch; a head only ever moves to a later one.
        cursor.executemany(
            "INSERT INTO log_tree_heads (originator_id, version, hash) VALUES (?, ?, ?) "
            "ON CONFLICT (originator_id) DO UPDATE SET version = excluded.version, "
            "hash = excluded.hash WHERE log_tree_heads.version < excluded.version",
            [(leaf.originator_id, leaf.version, leaf.hash) for leaf in heads.values()],
        )

    @staticmethod
    def _nodes(cursor: Cursor, nodes: list[Node]) -> list[bytes]:
        """The stored hashes of some nodes, in the order asked (one query)."""
        if not nodes:
            return []
        where = " OR ".join("(level = ? AND node_index = ?)" for _ in nodes)
        params = [value for node in nodes for value in node]
        found = {
            (int(level), int(index)): bytes.fromhex(value)
            for level, index, value in cursor.fetchall(
                f"SELECT level, node_index, hash FROM log_tree_nodes WHERE {where}", params
            )
        }
        return [found[node] for node in nodes]

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        """Catch up, then read the trees' size, root and heads in one transaction."""
        self.catch_up()
        with self.database.transaction() as cursor:
            size, last = self._lock(cursor)
            root = range_hash((0, size), self._fetch(cursor, [(0, size)]))
            heads = cursor.fetchall(
                "SELECT originator_id, version, hash FROM log_tree_heads ORDER BY originator_id"
            )
        return Snapshot(size, last, root, HeadsTree([(a, int(v), h) for a, v, h in heads]))

    def _fetch(self, cursor: Cursor, spans: list[Range]) -> dict[Node, bytes]:
        nodes = sorted({part for span in spans for part in perfect_parts(span)})
        return dict(zip(nodes, self._nodes(cursor, nodes), strict=True))

    @contextmanager
    def reading(self) -> Iterator[TreeReader]:
        """Catch up, then read sizes, leaves and nodes in one transaction (nodes never change
        once written, so no lock is needed)."""
        self.catch_up()
        with self.database.transaction() as cursor:
            yield TreeReader(self, cursor)

    def size(self) -> int:
        """The cached size, after catching up."""
        with self.reading() as reader:
            return reader.size

    def cached_leaves(self, count: int) -> list[Leaf]:
        """The first `count` cached leaves, in order (what the tree was built from)."""
        with self.database.transaction() as cursor:
            rows = cursor.fetchall(
                "SELECT position, originator_id, version, hash FROM log_tree_leaves "
                "WHERE leaf_index < ? ORDER BY leaf_index",
                (count,),
            )
        return [Leaf(int(p), str(a), int(v), str(h)) for p, a, v, h in rows]

    def unreadable_positions(self, count: int) -> list[int]:
        """The positions of the rows among the first `count` leaves that name no aggregate."""
        with self.database.transaction() as cursor:
            rows = cursor.fetchall(
                "SELECT position FROM log_tree_leaves WHERE originator_id = ? AND leaf_index < ?",
                (UNREADABLE, count),
            )
        return [int(row[0]) for row in rows]

    def leaves_of_aggregate(self, originator_id: str, stop: int) -> list[tuple[int, Leaf]]:
        """Every leaf of one aggregate at or before log position `stop`, in log order."""
        with self.database.transaction() as cursor:
            rows = cursor.fetchall(
                "SELECT leaf_index, position, version, hash FROM log_tree_leaves "
                "WHERE originator_id = ? AND position <= ? ORDER BY leaf_index",
                (originator_id, stop),
            )
        return [(int(i), Leaf(int(p), originator_id, int(v), str(h))) for i, p, v, h in rows]


class TreeReader:
    """Reads of the cached tree inside one transaction."""

    def __init__(self, tree: LogTree, cursor: Cursor) -> None:
        self._tree, self._cursor = tree, cursor
        self.size = tree._state(cursor)[0]

    def hashes(self, spans: list[Range]) -> list[bytes]:
        """The subtree hash of each range (the caller checked they lie within the size)."""
        nodes = self._tree._fetch(self._cursor, spans)
        return [range_hash(span, nodes) for span in spans]

    def leaf_at(self, position: int) -> tuple[int, Leaf] | None:
        """The leaf index and leaf of a log position, or None when no event has it."""
        row = self._cursor.fetchone(
            "SELECT leaf_index, originator_id, version, hash FROM log_tree_leaves "
            "WHERE position = ?",
            (position,),
        )
        if row is None:
            return None
        return int(row[0]), Leaf(position, str(row[1]), int(row[2]), str(row[3]))


def _rows_after(ledger: Ledger, last: int, limit: int) -> list[Notification | BadRow]:
    rows: list[Notification | BadRow] = []
    for row in read_log(ledger, after=last, batch_size=limit):
        rows.append(row)
        if len(rows) == limit:
            break
    return rows
