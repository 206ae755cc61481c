"""Signed tree heads and RFC 9162 proofs served from the cached log tree (AUDIT-FORMAT.md §2-5,
§7), on SQLite and the real PostgreSQL: proofs from the cache check against trees rebuilt from
the rows, and `verify --sth` catches a history rewritten after a head was published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from application.ledger import Ledger
from audit.findings import ProblemKind
from audit.keys import init_key, key_records, load_signing_key, rotate_key
from audit.log_tree import LogTree
from audit.merkle import (
    EMPTY_ROOT,
    consistency_ranges,
    inclusion_ranges,
    root_of,
    subtree_of,
    verify_consistency,
    verify_inclusion,
)
from audit.sth_check import check_against_sth
from audit.tree_heads import (
    BadInput,
    consistency_proof,
    inclusion_proof,
    publish,
    sign_tree_head,
    signature_problem,
)
from audit.tree_leaves import recompute
from domain.chain import GENESIS, stored_event_hash
from tests.integration.test_tamper_evidence import RawStore, patient
from tests.program import Program


@pytest.fixture
def raw(any_ledger: Ledger) -> Iterator[RawStore]:
    """Direct access to the ledger's event table."""
    store = RawStore(any_ledger)
    yield store
    store.conn.close()


@pytest.fixture
def tree(any_ledger: Ledger) -> Iterator[LogTree]:
    """The ledger's cached log tree."""
    with LogTree(any_ledger) as log_tree:
        yield log_tree


def grow(ledger: Ledger, events: int) -> Program:
    """A program with at least `events` events: surveys of one male patient."""
    p = Program(ledger).participants()
    p.ready_male("M1")
    while ledger.notifications.end() < events:
        p.advance(hours=1)
        p.survey("M1")
    return p


def test_empty_log_has_the_empty_root_and_no_proofs(any_ledger: Ledger, tree: LogTree) -> None:
    """An empty log: size 0, last position 0, both roots SHA-256 of the empty string; a proof
    of any size is refused."""
    snapshot = tree.snapshot()
    assert (snapshot.tree_size, snapshot.last_position) == (0, 0)
    assert snapshot.root == snapshot.heads.root == EMPTY_ROOT
    with pytest.raises(BadInput, match="sizes 1 to 0"):
        inclusion_proof(tree, 1, 1)


def test_every_leaf_of_sizes_1_to_70_proves_inclusion_from_the_cache(
    any_ledger: Ledger, tree: LogTree
) -> None:
    """Proofs served from the stored nodes equal RFC 9162 paths over the leaves rebuilt from
    the rows, and verify into the root at every size 1..70."""
    grow(any_ledger, 70)
    leaves = recompute(any_ledger, 70).leaves[:70]
    positions = [row.id for row in any_ledger.notifications.read(1, 70)]
    for n in range(1, 71):
        root = root_of(leaves[:n])
        with tree.reading() as reader:
            assert reader.hashes([(0, n)]) == [root]
        for m in range(n):
            proof = inclusion_proof(tree, positions[m], n)
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert proof["leaf_index"] == m
            assert path == [subtree_of(leaves[:n])(r) for r in inclusion_ranges(m, n)]
            assert verify_inclusion(leaves[m], m, n, path, root)


def test_consistency_for_every_m_below_n_up_to_40_from_the_cache(
    any_ledger: Ledger, tree: LogTree
) -> None:
    """Consistency proofs served from the stored nodes verify for all 0 < m < n <= 40."""
    grow(any_ledger, 40)
    leaves = recompute(any_ledger, 40).leaves[:40]
    for n in range(1, 41):
        for m in range(1, n):
            proof = [bytes.fromhex(h) for h in consistency_proof(tree, m, n)["proof"]]
            assert proof == [subtree_of(leaves[:n])(r) for r in consistency_ranges(m, n)]
            assert verify_consistency(m, n, root_of(leaves[:m]), root_of(leaves[:n]), proof)


def test_a_tree_size_beyond_the_log_is_refused(any_ledger: Ledger, tree: LogTree) -> None:
    """Asking for a proof against a size the log never had is a clear error."""
    grow(any_ledger, 5)
    size = tree.size()
    with pytest.raises(BadInput, match="sizes 1 to"):
        inclusion_proof(tree, 1, size + 1)
    with pytest.raises(BadInput, match="0 <= M <= N"):
        consistency_proof(tree, 2, size + 1)
    with pytest.raises(BadInput, match="no event at position"):
        inclusion_proof(tree, 10_000, size)


def test_an_sth_verifies_and_a_forged_signature_is_caught(
    any_ledger: Ledger, tree: LogTree, tmp_path: Path
) -> None:
    """A fresh STH checks against the store; the same STH with another root (signature kept)
    is named as a signature failure."""
    grow(any_ledger, 12)
    key_file = tmp_path / "sign.pem"
    init_key(key_file)
    sth = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    records = key_records(key_file)
    assert check_against_sth(any_ledger, sth, records) == []
    forged = {**sth, "root_hash": "0" * 64}
    kinds = {p.kind for p in check_against_sth(any_ledger, forged, records)}
    assert ProblemKind.STH_SIGNATURE in kinds
    assert ProblemKind.STH_MISMATCH in kinds


def test_old_heads_still_verify_under_the_retired_key_after_rotation(
    any_ledger: Ledger, tree: LogTree, tmp_path: Path
) -> None:
    """After `keys init --rotate`, a head signed before verifies under the retired record and
    new heads carry the new key."""
    grow(any_ledger, 8)
    key_file = tmp_path / "sign.pem"
    init_key(key_file)
    old = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    rotate_key(key_file)
    new = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    records = key_records(key_file)
    assert [r["status"] for r in records] == ["retired", "current"]
    assert old["key_id"] != new["key_id"]
    assert signature_problem(old, records) is None
    assert signature_problem(new, records) is None
    assert check_against_sth(any_ledger, old, records) == []


def test_a_history_rewritten_and_rehashed_after_a_head_is_caught(
    any_ledger: Ledger, tree: LogTree, raw: RawStore, tmp_path: Path
) -> None:
    """A forger who changes an early event and rebuilds every later hash of the chain leaves
    `verify` without a chain problem, but the rows no longer give the signed roots."""
    from audit.verify import verify

    grow(any_ledger, 10)
    key_file = tmp_path / "sign.pem"
    init_key(key_file)
    sth = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    previous = GENESIS
    for row in raw.rows(patient("M1")):
        state = row.json
        if row.version == 2:
            state["actor"] = "forger"
        state["previous_hash"] = previous
        state.pop("hash")
        state["hash"] = previous = stored_event_hash(row.aggregate, row.version, state, row.topic)
        raw.set_state(row.position, orjson.dumps(state))
    assert verify(any_ledger).ok
    problems = check_against_sth(any_ledger, sth, key_records(key_file))
    assert {p.kind for p in problems} == {ProblemKind.STH_MISMATCH, ProblemKind.TREE_INCONSISTENT}
    second = raw.rows(patient("M1"))[1]
    named = f"first changed event is at position {second.position} ({patient('M1')} v2)"
    assert any(named in p.message for p in problems), problems


def test_a_deleted_event_after_a_head_is_caught(
    any_ledger: Ledger, tree: LogTree, raw: RawStore, tmp_path: Path
) -> None:
    """Deleting the last event after a head was signed: the rows hold fewer events than the head."""
    grow(any_ledger, 6)
    key_file = tmp_path / "sign.pem"
    init_key(key_file)
    sth = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    raw.delete(raw.positions()[-1])
    kinds = {p.kind for p in check_against_sth(any_ledger, sth, key_records(key_file))}
    assert kinds == {ProblemKind.STH_BEYOND_END}


def test_published_heads_carry_consistency_from_the_previous_one(
    any_ledger: Ledger, tree: LogTree, tmp_path: Path
) -> None:
    """REMS_STH_FILE gets one line per published head; the first has no consistency proof,
    the next one a proof from the first that verifies."""
    p = grow(any_ledger, 5)
    key_file, sth_file = tmp_path / "sign.pem", tmp_path / "heads.jsonl"
    init_key(key_file)
    first = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    assert publish(tree, first, sth_file) is None
    p.advance(hours=1)
    p.survey("M1")
    second = sign_tree_head(tree.snapshot(), load_signing_key(key_file))
    sent: list[tuple[str, bytes, bytes]] = []
    publish(tree, second, sth_file, lambda topic, key, value: sent.append((topic, key, value)))
    lines = [orjson.loads(line) for line in sth_file.read_bytes().splitlines()]
    assert [line["sth"] for line in lines] == [first, second]
    assert lines[0]["consistency"] is None
    proof = lines[1]["consistency"]
    assert (proof["first"], proof["second"]) == (first["tree_size"], second["tree_size"])
    assert verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )
    assert [message[0] for message in sent] == ["rems.tree-heads"]
    assert orjson.loads(sent[0][2]) == lines[1]
