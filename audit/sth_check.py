"""`rems verify --sth FILE`: the store, recomputed from its rows (no cache), against a signed
tree head published earlier (AUDIT-FORMAT.md §7).

The STH's signature must hold under a known key (retired keys included); the log tree and the
heads tree rebuilt from the rows must have the STH's roots at its size; and the current tree
must be consistent with it, by the proof the ledger serves. A history rewritten after the head
was published, every hash chain rebuilt to match, still changes a root: it is caught here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.log_tree import LogTree, recompute
from audit.merkle import root_of, verify_consistency
from audit.tree_heads import consistency_proof, signature_problem
from audit.verify import Problem, ProblemKind

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
                "altered, deleted, inserted or reordered after the head was published.",
            )
        )
    if rows.heads.root.hex() != sth["heads_root"]:
        problems.append(
            _problem(
                ProblemKind.STH_MISMATCH,
                last,
                f"the heads tree recomputed from the rows {where} has root "
                f"{rows.heads.root.hex()}, not the signed {sth['heads_root']}: an aggregate's "
                "events at or before that position were changed.",
            )
        )
    problems.extend(_current_tree(ledger, sth, rows.leaves))
    return problems


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
