"""The RFC 9162 §2.1 Merkle tree: leaf and node hashing, inclusion and consistency proofs.

Pure functions over hashes. Proofs are described first as the half-open leaf ranges whose
subtree hashes they hold (`inclusion_ranges`, `consistency_ranges`), so a caller can take
those hashes from wherever it keeps the tree: a list of leaf hashes in memory, or the stored
hashes of perfect, aligned subtrees (`perfect_parts`), O(log n) of them per range.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string."""

Range = tuple[int, int]
"""Leaves `[start, end)` of a subtree."""
Node = tuple[int, int]
"""A perfect, aligned subtree: `(level, i)` covers leaves `[i * 2^level, (i + 1) * 2^level)`."""


def leaf_hash(data: bytes) -> bytes:
    """`SHA-256(0x00 || data)`."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """`SHA-256(0x01 || left || right)`."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than `n` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, in one pass (a stack of perfect subtrees)."""
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        size, value = 1, leaf
        while stack and stack[-1][0] == size:
            left = stack.pop()[1]
            size, value = size * 2, node_hash(left, value)
        stack.append((size, value))
    if not stack:
        return EMPTY_ROOT
    value = stack.pop()[1]
    while stack:
        value = node_hash(stack.pop()[1], value)
    return value


def subtree_of(leaves: Sequence[bytes]) -> Callable[[Range], bytes]:
    """The subtree hash of any range of an in-memory list of leaf hashes."""
    return lambda span: root_of(leaves[span[0] : span[1]])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges of PATH(index, D[size]) (RFC 9162 §2.1.3.1), in proof order."""
    if not 0 <= index < size:
        msg = f"leaf {index} is not in a tree of {size} leaves"
        raise ValueError(msg)
    out: list[Range] = []

    def path(m: int, start: int, end: int) -> None:
        if end - start == 1:
            return
        k = split(end - start)
        if m < k:
            path(m, start, start + k)
            out.append((start + k, end))
        else:
            path(m - k, start + k, end)
            out.append((start, start + k))

    path(index, 0, size)
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The ranges of PROOF(first, D[second]) (RFC 9162 §2.1.4.1); `[]` when first is 0 or
    equal to second."""
    if not 0 <= first <= second:
        msg = f"no consistency proof from {first} to {second} leaves"
        raise ValueError(msg)
    out: list[Range] = []

    def subproof(m: int, start: int, end: int, whole: bool) -> None:
        if m == end - start:
            if not whole:
                out.append((start, end))
            return
        k = split(end - start)
        if m <= k:
            subproof(m, start, start + k, whole)
            out.append((start + k, end))
        else:
            subproof(m - k, start + k, end, False)
            out.append((start, start + k))

    if 0 < first < second:
        subproof(first, 0, second, True)
    return out


def perfect_parts(span: Range) -> list[Node]:
    """The perfect, aligned subtrees whose hashes make up MTH of a range that starts on a
    boundary of its own split (every range of the proofs above, and `[0, n)`)."""
    start, end = span
    parts: list[Node] = []
    while end - start > 0:
        size = end - start
        k = size if size & (size - 1) == 0 else split(size)
        level = k.bit_length() - 1
        parts.append((level, start >> level))
        start += k
    return parts


def combine(parts: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its `perfect_parts`, left to right."""
    if not parts:
        return EMPTY_ROOT
    value = parts[-1]
    for left in reversed(parts[:-1]):
        value = node_hash(left, value)
    return value


def range_hash(span: Range, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH of a range from stored perfect subtree hashes."""
    return combine([nodes[part] for part in perfect_parts(span)])


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `path` prove leaf hash `leaf` at `index` into `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `first` leaves is a prefix of the tree
    of `second`? (first = second: an empty proof and equal roots; first = 0: an empty proof
    and the empty root.)"""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
