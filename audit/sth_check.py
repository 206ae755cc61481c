"""`rems verify --sth FILE`: the store, recomputed from its rows (no cache), against a signed
tree head published earlier (AUDIT-FORMAT.md §7).

The STH's signature must hold under a known key (retired keys included); the log tree and the
heads tree rebuilt from the rows must have the STH's roots at its size; and the current tree
must be consistent with it, by the proof the ledger serves. A history rewritten after the head
was published, every hash chain rebuilt to match, still changes a root: it is caught here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.findings import Problem, ProblemKind
from audit.log_tree import LogTree
from audit.merkle import root_of, verify_consistency
from audit.tree_heads import consistency_proof, signature_problem
from audit.tree_leaves import Leaf, Recomputed, heads_of, recompute

if TYPE_CHECKING:
    from application.ledger import Ledger


def _problem(kind: ProblemKind, position: int | None, message: str) -> Problem:
    return Problem(aggregate_id=None, version=None, position=position, kind=kind, message=message)


def check_against_sth(
    ledger: Ledger, sth: dict[str, Any], records: list[dict[str, Any]]
) -> list[Problem]:
    """Every way the store now disagrees with a (well-formed) STH."""
    problems: list[Problem] = []
    size, last = sth["tree_size"], sth["last_position"]
    signature = signature_problem(sth, records)
    if signature is not None:
        problems.append(_problem(ProblemKind.STH_SIGNATURE, None, f"{signature}."))
    rows = recompute(ledger, size)
    if rows.log_size < size:
        problems.append(
            _problem(
                ProblemKind.STH_BEYOND_END,
                last,
                f"the tree head covers {size} events up to position {last}, but the store holds "
                f"{rows.log_size}: events were deleted, or it is another ledger's head.",
            )
        )
        return problems
    where = f"at tree size {size} (position {last})"
    if rows.last_position != last or rows.root.hex() != sth["root_hash"]:
        problems.append(
            _problem(
                ProblemKind.STH_MISMATCH,
                last,
                f"the log tree recomputed from the rows {where} has root {rows.root.hex()}, not "
                f"the signed {sth['root_hash']}: an event at or before position {last} was "
                f"altered, deleted, inserted or reordered after the head was published"
                f"{_first_difference(ledger, rows.rows[:size])}.",
            )
        )
    if rows.heads.root.hex() != sth["heads_root"]:
        problems.append(
            _problem(
                ProblemKind.STH_MISMATCH,
                last,
                f"the heads tree recomputed from the rows {where} has root "
                f"{rows.heads.root.hex()}, not the signed {sth['heads_root']}: an aggregate's "
                f"events at or before that position were changed{_changed_head(ledger, rows)}.",
            )
        )
    problems.extend(_current_tree(ledger, sth, rows.leaves))
    return problems


def _first_difference(ledger: Ledger, rows: list[Leaf]) -> str:
    """Where the rows first differ from the leaves the ledger's tree was built from (the
    cache is no evidence, but it points at the event that changed)."""
    with LogTree(ledger) as tree:
        cached = tree.cached_leaves(len(rows))
    for now, then in zip(rows, cached, strict=False):
        if now != then:
            return (
                f"; the first changed event is at position {then.position} "
                f"({then.originator_id} v{then.version})"
            )
    return ""


def _changed_head(ledger: Ledger, rows: Recomputed) -> str:
    """The first aggregate whose head differs from the one the cached leaves give."""
    with LogTree(ledger) as tree:
        cached = heads_of(tree.cached_leaves(rows.tree_size)).heads
    now = {a: (v, h) for a, v, h in rows.heads.heads}
    then = {a: (v, h) for a, v, h in cached}
    for aggregate in sorted(set(now) | set(then)):
        if now.get(aggregate) != then.get(aggregate):
            return f" (first: aggregate {aggregate})"
    return ""


def _current_tree(ledger: Ledger, sth: dict[str, Any], leaves: list[bytes]) -> list[Problem]:
    """The tree the ledger serves proofs from must be the rows' tree, consistent with the STH."""
    with LogTree(ledger) as tree:
        served = tree.snapshot().tree_size
        if served != len(leaves):
            return [
                _problem(
                    ProblemKind.TREE_INCONSISTENT,
                    None,
                    f"the ledger's log tree holds {served} events but the store {len(leaves)} "
                    "rows: rows were deleted or inserted behind the ledger's back.",
                )
            ]
        proof = consistency_proof(tree, sth["tree_size"], served)
    hashes = [bytes.fromhex(h) for h in proof["proof"]]
    signed = bytes.fromhex(sth["root_hash"])
    if verify_consistency(sth["tree_size"], served, signed, root_of(leaves), hashes):
        return []
    return [
        _problem(
            ProblemKind.TREE_INCONSISTENT,
            sth["last_position"],
            f"the current log tree ({served} events) is not consistent with the signed head of "
            f"size {sth['tree_size']}: its first {sth['tree_size']} events are not the ones "
            "that were signed.",
        )
    ]
