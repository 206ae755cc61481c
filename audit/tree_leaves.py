"""The leaves of the log tree and the heads tree (AUDIT-FORMAT.md §2-3), and both trees
recomputed from the rows alone (what `rems verify --sth` compares the cache with)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit.digest import BadRow, as_uuid, read_log, row_error, stored_hash_of
from audit.merkle import leaf_hash, root_of

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from application.ledger import Ledger

UNREADABLE = "unreadable"
"""The stand-in identity and hash of a row that cannot be read (it is still a leaf)."""


def log_leaf_data(position: int, originator_id: str, version: int, event_hash: str) -> bytes:
    """§2: `rems-leaf-v2:POSITION:ORIGINATOR_ID:VERSION:HASH`."""
    return f"rems-leaf-v2:{position}:{originator_id}:{version}:{event_hash}".encode()


def head_leaf_data(originator_id: str, version: int, event_hash: str) -> bytes:
    """§3: `rems-head-v2:ORIGINATOR_ID:VERSION:HASH`."""
    return f"rems-head-v2:{originator_id}:{version}:{event_hash}".encode()


@dataclass(frozen=True)
class Leaf:
    """One event as the log tree sees it."""

    position: int
    originator_id: str
    version: int
    hash: str

    @property
    def leaf_hash(self) -> bytes:
        """Its log-tree leaf hash."""
        return leaf_hash(log_leaf_data(self.position, self.originator_id, self.version, self.hash))


@dataclass(frozen=True)
class HeadsTree:
    """Every aggregate's head, sorted by originator ID (§3)."""

    heads: list[tuple[str, int, str]]

    @property
    def leaves(self) -> list[bytes]:
        """Their leaf hashes, in order."""
        return [leaf_hash(head_leaf_data(a, v, h)) for a, v, h in self.heads]

    @property
    def root(self) -> bytes:
        """The heads tree's root."""
        return root_of(self.leaves)

    def index_of(self, originator_id: str) -> int | None:
        """The leaf index of an aggregate's head, or None when it has no event."""
        for index, head in enumerate(self.heads):
            if head[0] == originator_id:
                return index
        return None


def leaves_of_rows(ledger: Ledger, rows: Iterable[Notification | BadRow]) -> Iterator[Leaf]:
    """The log-tree leaf of each row (an unreadable row still is one: it is in the log)."""
    for row in rows:
        if isinstance(row, BadRow) or row_error(row) is not None:
            yield Leaf(row.id, UNREADABLE, 0, UNREADABLE)
            continue
        aid = str(as_uuid(row.originator_id))
        yield Leaf(row.id, aid, row.originator_version, stored_hash_of(ledger.mapper, row))


def heads_of(leaves: Iterable[Leaf]) -> HeadsTree:
    """The heads tree of a run of leaves: each aggregate's highest version."""
    heads: dict[str, tuple[int, str]] = {}
    for leaf in leaves:
        if leaf.originator_id == UNREADABLE:
            continue
        current = heads.get(leaf.originator_id)
        if current is None or leaf.version > current[0]:
            heads[leaf.originator_id] = (leaf.version, leaf.hash)
    return HeadsTree(sorted((a, v, h) for a, (v, h) in heads.items()))


@dataclass(frozen=True)
class Recomputed:
    """Both trees recomputed from the rows, at a tree size."""

    tree_size: int
    last_position: int
    root: bytes
    heads: HeadsTree
    log_size: int
    """How many rows the whole log holds now."""
    leaves: list[bytes]
    """Every leaf hash of the whole log now."""
    rows: list[Leaf]
    """Every leaf of the whole log now."""


def recompute(ledger: Ledger, tree_size: int) -> Recomputed:
    """Read every row (no cache) and rebuild the log tree at `tree_size` and the heads tree at
    its last position."""
    leaves = list(leaves_of_rows(ledger, read_log(ledger)))
    first = leaves[:tree_size]
    return Recomputed(
        tree_size=min(tree_size, len(leaves)),
        last_position=first[-1].position if first else 0,
        root=root_of([leaf.leaf_hash for leaf in first]),
        heads=heads_of(first),
        log_size=len(leaves),
        leaves=[leaf.leaf_hash for leaf in leaves],
        rows=leaves,
    )
