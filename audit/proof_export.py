"""The members of an export that let an inspector verify it offline (AUDIT-FORMAT.md §6).

A new STH is signed and published (§7) for the export; beside it travel the consistency proof
from the head published before it, the key record named by the STH, every event of the
patient's aggregate up to the STH's last position with its exact stored state and its
inclusion proof, and the patient's head with its proof in the heads tree, so an export that
drops the last event is caught too. Audit paths hold only hashes: nothing of another patient.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from audit.digest import decode_state
from audit.export_check import check_export
from audit.keys import CURRENT, SigningKey, key_record, key_records, load_signing_key, raw_public
from audit.log_tree import LogTree
from audit.merkle import inclusion_ranges, subtree_of
from audit.tree_heads import BadInput, Sender, publish, sign_tree_head
from audit.tree_leaves import HeadsTree

if TYPE_CHECKING:
    from application.ledger import Ledger


def proof_members(
    ledger: Ledger, aggregate: UUID, send: Sender | None = None, publish_head: bool = True
) -> dict[str, Any]:
    """`sth`, `consistency_from_published`, `public_key`, `events` and `head` for one
    aggregate; `KeyError_` when the ledger has no signing key (nothing is published then).
    Without `publish_head` the STH is signed but not published (the web page's check)."""
    key = load_signing_key(ledger.settings.signing_key_file)
    aid = str(aggregate)
    with LogTree(ledger) as tree:
        snapshot = tree.snapshot()
        sth = sign_tree_head(snapshot, key)
        consistency = publish(tree, sth, ledger.settings.sth_file, send) if publish_head else None
        leaves = tree.leaves_of_aggregate(aid, snapshot.last_position)
        with tree.reading() as reader:
            paths = [
                reader.hashes(inclusion_ranges(index, snapshot.tree_size)) for index, _ in leaves
            ]
    stored = {e.originator_version: e for e in ledger.recorder.select_events(aggregate)}
    events = []
    for (index, leaf), path in zip(leaves, paths, strict=True):
        row = stored.get(leaf.version)
        events.append(
            {
                "position": leaf.position,
                "leaf_index": index,
                "originator_id": aid,
                "originator_version": leaf.version,
                "topic": row.topic if row else None,
                "state": decode_state(ledger.mapper, row.state) if row else None,
                "inclusion_proof": [h.hex() for h in path],
            }
        )
    return {
        "sth": sth,
        "consistency_from_published": consistency,
        "public_key": _record(ledger.settings.signing_key_file, sth["key_id"], key),
        "events": events,
        "head": _head(snapshot.heads.heads, aid),
    }


def _record(key_file: Path | None, key_id: str, key: SigningKey) -> dict[str, Any]:
    """The public record of the key that signed (from the keyring, else from the key)."""
    assert key_file is not None, "a key was loaded from it"
    for record in key_records(key_file):
        if record.get("key_id") == key_id:
            return record
    return key_record(raw_public(key.private), CURRENT)


def _head(heads: list[tuple[str, int, str]], aid: str) -> dict[str, Any] | None:
    """The aggregate's head and its proof in the heads tree (None if it has no event)."""
    tree = HeadsTree(heads)
    index = tree.index_of(aid)
    if index is None:
        return None
    leaves = tree.leaves
    path = [subtree_of(leaves)(span) for span in inclusion_ranges(index, len(leaves))]
    _, version, head_hash = heads[index]
    return {
        "originator_id": aid,
        "version": version,
        "hash": head_hash,
        "leaf_index": index,
        "tree_size": len(leaves),
        "inclusion_proof": [h.hex() for h in path],
    }


def self_check(ledger: Ledger, members: dict[str, Any]) -> dict[str, Any]:
    """The export's proof members checked as an inspector will (`{"ok", "problems"}`), so the
    record never says "verified" of proofs that do not hold."""
    assert ledger.settings.signing_key_file is not None, "the members were signed"
    try:
        problems = check_export(members, key_records(ledger.settings.signing_key_file))
    except BadInput as error:
        problems = [str(error)]
    return {"ok": not problems, "problems": problems}


def seal_of(ledger: Ledger, aggregate: UUID) -> dict[str, Any] | None:
    """The aggregate's events checked now against a freshly signed (unpublished) tree head,
    as an inspector would check its export: `{"tree_size", "key_id", "problems"}`; None
    when the ledger has no signing key."""
    if ledger.settings.signing_key_file is None:
        return None
    members = proof_members(ledger, aggregate, publish_head=False)
    problems = self_check(ledger, members)["problems"]
    sth = members["sth"]
    return {"tree_size": sth["tree_size"], "key_id": sth["key_id"], "problems": problems}
