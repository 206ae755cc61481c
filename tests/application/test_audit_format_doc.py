"""The worked example of docs/audit-format.md: every number on that page is recomputed here
from the format alone (hashlib, rfc8785, cryptography), so the page and the code cannot drift."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.merkle import consistency_ranges, inclusion_ranges, leaf_hash, root_of, subtree_of
from audit.tree_leaves import HeadsTree, head_leaf_data, log_leaf_data
from domain.chain import stored_event_hash
from domain.registry import aggregate_id

DOC = Path(__file__).parents[2] / "docs" / "audit-format.md"
NAMESPACE = UUID("0f5b8a3e-54a1-5d0c-9d7e-6a1c2f0e7b41")
TOPIC = "domain.patient_events:PatientSurveyRecorded"


def worked_example() -> dict[str, str]:
    """Every number of the page, by name."""
    aid = str(uuid5(NAMESPACE, "patient:P1"))
    numbers = {"originator_id": aid}
    previous = "0" * 64
    leaves = []
    for version, compliant in ((1, True), (2, False), (3, True)):
        state: dict[str, Any] = {
            "chain": 2,
            "compliant": compliant,
            "previous_hash": previous,
            "score": 25.0,
        }
        e: dict[str, Any] = {
            **state,
            "originator_id": aid,
            "originator_version": version,
            "topic": TOPIC,
        }
        numbers[f"jcs{version}"] = rfc8785.dumps(e).decode()
        previous = hashlib.sha256(rfc8785.dumps(e)).hexdigest()
        assert previous == stored_event_hash(UUID(aid), version, state, TOPIC)
        numbers[f"hash{version}"] = previous
        leaves.append(leaf_hash(log_leaf_data(version, aid, version, previous)))
        numbers[f"leaf{version}"] = leaves[-1].hex()
    numbers["node12"] = root_of(leaves[:2]).hex()
    numbers["root"] = root_of(leaves).hex()
    subtree = subtree_of(leaves)
    numbers["path3"] = ",".join(subtree(r).hex() for r in inclusion_ranges(2, 3))
    numbers["path1"] = '","'.join(subtree(r).hex() for r in inclusion_ranges(0, 3))
    numbers["consistency23"] = ",".join(subtree(r).hex() for r in consistency_ranges(2, 3))
    heads = HeadsTree([(aid, 3, previous)])
    assert heads.root == leaf_hash(head_leaf_data(aid, 3, previous))
    numbers["heads_root"] = heads.root.hex()
    key = Ed25519PrivateKey.from_private_bytes(bytes([42]) * 32)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    numbers["public_key"] = base64.urlsafe_b64encode(public).rstrip(b"=").decode()
    numbers["key_id"] = hashlib.sha256(public).hexdigest()
    body: dict[str, Any] = {
        "format": "rems-sth-v2",
        "tree_size": 3,
        "last_position": 3,
        "root_hash": numbers["root"],
        "heads_root": numbers["heads_root"],
        "timestamp": "2026-03-01T14:00:00Z",
        "key_id": numbers["key_id"],
    }
    numbers["signed"] = rfc8785.dumps(body).decode()
    signature = key.sign(rfc8785.dumps(body))
    numbers["signature"] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert aid == str(aggregate_id("patient", "P1"))
    return numbers


def test_every_number_of_the_worked_example_is_on_the_page() -> None:
    """Each hash, root, proof, key and signature of the worked example appears verbatim in
    docs/audit-format.md."""
    page = DOC.read_text(encoding="utf-8")
    missing = {name: value for name, value in worked_example().items() if value not in page}
    assert missing == {}
