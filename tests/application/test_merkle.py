"""The RFC 9162 Merkle tree (audit/merkle.py) by the RFC's own properties: every leaf of
trees of 1..70 leaves proves inclusion, every m < n <= 40 proves consistency, and a changed
hash, index or size is refused."""

from __future__ import annotations

import hashlib

import pytest

from audit.merkle import (
    EMPTY_ROOT,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    perfect_parts,
    range_hash,
    root_of,
    subtree_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"leaf {i}".encode()) for i in range(70)]


def mth(leaves: list[bytes]) -> bytes:
    """MTH written straight from RFC 9162 §2.1.1 (recursive), to check the one-pass root."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def test_roots_match_the_rfc_definition_for_every_size_0_to_70() -> None:
    """The one-pass root equals the RFC's recursive MTH for every size; the empty root is
    SHA-256 of the empty string."""
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    for n in range(71):
        assert root_of(LEAVES[:n]) == mth(LEAVES[:n])


def test_every_leaf_of_trees_1_to_70_proves_inclusion() -> None:
    """For each size 1..70, each leaf's audit path proves it into the root, and the same path
    fails for a neighbouring leaf, another index or a shortened path."""
    for n in range(1, 71):
        root, subtree = root_of(LEAVES[:n]), subtree_of(LEAVES[:n])
        for m in range(n):
            path = [subtree(r) for r in inclusion_ranges(m, n)]
            assert verify_inclusion(LEAVES[m], m, n, path, root)
            assert not verify_inclusion(LEAVES[(m + 1) % 70], m, n, path, root)
            if n > 1:
                assert not verify_inclusion(LEAVES[m], (m + 1) % n, n, path, root)
            assert not verify_inclusion(LEAVES[m], m, n, path[:-1] or [root], root)


def test_consistency_holds_for_every_m_below_n_up_to_40() -> None:
    """For each 0 < m < n <= 40 the proof shows the m-leaf tree is a prefix of the n-leaf one,
    and fails for a forged first root, another second root or a dropped hash."""
    for n in range(1, 41):
        second, subtree = root_of(LEAVES[:n]), subtree_of(LEAVES[:n])
        for m in range(1, n):
            first = root_of(LEAVES[:m])
            proof = [subtree(r) for r in consistency_ranges(m, n)]
            assert verify_consistency(m, n, first, second, proof)
            assert not verify_consistency(m, n, LEAVES[0] if m > 1 else LEAVES[1], second, proof)
            assert not verify_consistency(m, n, first, root_of(LEAVES[: n + 1]), proof)
            assert not verify_consistency(m, n, first, second, proof[:-1])
        assert verify_consistency(n, n, second, second, [])
        assert not verify_consistency(n, n, second, second, [second])
        assert verify_consistency(0, n, EMPTY_ROOT, second, [])


def test_a_history_rewritten_below_a_tree_head_is_inconsistent() -> None:
    """Changing one early leaf and keeping the later ones gives a new tree no proof links to
    the old head."""
    forged = [leaf_hash(b"forged"), *LEAVES[1:30]]
    first = root_of(LEAVES[:10])
    proof = [subtree_of(forged)(r) for r in consistency_ranges(10, 30)]
    assert not verify_consistency(10, 30, first, root_of(forged), proof)


def test_proof_hashes_from_stored_perfect_subtrees_equal_those_from_leaves() -> None:
    """Every proof range and every prefix root is made of O(log n) perfect aligned subtrees,
    and their stored hashes give the same value as the leaves."""
    nodes = {}
    for level in range(7):
        size = 1 << level
        for index in range(70 // size):
            nodes[(level, index)] = root_of(LEAVES[index * size : (index + 1) * size])
    for n in range(1, 71):
        assert range_hash((0, n), nodes) == root_of(LEAVES[:n])
        assert len(perfect_parts((0, n))) == bin(n).count("1")
        for m in range(n):
            for span in inclusion_ranges(m, n) + consistency_ranges(m, n):
                assert range_hash(span, nodes) == root_of(LEAVES[span[0] : span[1]])


def test_a_leaf_outside_the_tree_has_no_proof() -> None:
    """Asking for a leaf at or beyond the size, or a consistency from a bigger tree, is an
    error, and verification of such a claim fails."""
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_ranges(5, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_ranges(6, 5)
    assert not verify_inclusion(LEAVES[0], 5, 5, [], root_of(LEAVES[:5]))
