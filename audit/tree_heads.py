"""Signed tree heads and the proofs served against them (AUDIT-FORMAT.md §4, §5, §7).

An STH signs both roots over the whole log now: the log tree (every event) and the heads tree
(every aggregate's last event). Proofs come from the cached log tree (`audit/log_tree.py`).
Publishing appends `{"sth", "consistency"}` to `REMS_STH_FILE`, the consistency proof taken
from the STH published last, and hands the same line to Kafka when it is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.keys import KEY_FORMAT, SigningKey, b64url, b64url_decode, key_id_of
from audit.log_tree import LogTree, Snapshot
from audit.merkle import consistency_ranges, inclusion_ranges

STH_FORMAT = "rems-sth-v2"
STH_MEMBERS = (
    "format",
    "tree_size",
    "last_position",
    "root_hash",
    "heads_root",
    "timestamp",
    "key_id",
    "signature",
)
TREE_HEADS_TOPIC = "rems.tree-heads"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class BadInput(ValueError):
    """An STH, proof, key record or request the ledger cannot use; the message says why."""


def utc_timestamp(now: datetime | None = None) -> str:
    """The wall clock at signing, `YYYY-MM-DDTHH:MM:SSZ`."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_message(sth: dict[str, Any]) -> bytes:
    """§4: UTF-8 JCS of the seven members other than `signature`."""
    return rfc8785.dumps({k: sth[k] for k in STH_MEMBERS if k != "signature"})


def sign_tree_head(
    snapshot: Snapshot, key: SigningKey, now: datetime | None = None
) -> dict[str, Any]:
    """The STH of a snapshot of the trees."""
    body: dict[str, Any] = {
        "format": STH_FORMAT,
        "tree_size": snapshot.tree_size,
        "last_position": snapshot.last_position,
        "root_hash": snapshot.root.hex(),
        "heads_root": snapshot.heads.root.hex(),
        "timestamp": utc_timestamp(now),
        "key_id": key.key_id,
    }
    body["signature"] = b64url(key.sign(rfc8785.dumps(body)))
    return body


def check_sth(obj: Any) -> dict[str, Any]:
    """The STH if it has exactly the members of §4, well typed; `BadInput` naming the fault."""
    if not isinstance(obj, dict):
        msg = "an STH is a JSON object"
        raise BadInput(msg)
    if set(obj) != set(STH_MEMBERS):
        missing, extra = set(STH_MEMBERS) - set(obj), set(obj) - set(STH_MEMBERS)
        msg = (
            f"an STH has exactly {', '.join(STH_MEMBERS)} "
            f"(missing {sorted(missing)}, extra {sorted(extra)})"
        )
        raise BadInput(msg)
    if obj["format"] != STH_FORMAT:
        msg = f"format {obj['format']!r} is not {STH_FORMAT}"
        raise BadInput(msg)
    for name in ("tree_size", "last_position"):
        if type(obj[name]) is not int or obj[name] < 0:
            msg = f"{name} must be a non-negative integer"
            raise BadInput(msg)
    for name in ("root_hash", "heads_root", "key_id"):
        if not isinstance(obj[name], str) or not _HEX64.fullmatch(obj[name]):
            msg = f"{name} must be 64 lower-case hex digits"
            raise BadInput(msg)
    if not isinstance(obj["timestamp"], str) or not _TIMESTAMP.fullmatch(obj["timestamp"]):
        msg = "timestamp must be YYYY-MM-DDTHH:MM:SSZ"
        raise BadInput(msg)
    try:
        if len(b64url_decode(obj["signature"])) != 64:
            raise ValueError
    except ValueError:
        msg = "signature must be 64 bytes of unpadded base64url"
        raise BadInput(msg) from None
    return obj


def check_key_record(obj: Any) -> dict[str, Any]:
    """A `rems-key-v2` record; `BadInput` when it is not one."""
    if not isinstance(obj, dict) or obj.get("format") != KEY_FORMAT:
        msg = f"a public key record is a {KEY_FORMAT} object"
        raise BadInput(msg)
    try:
        raw = b64url_decode(str(obj.get("public_key")))
    except ValueError:
        raw = b""
    if len(raw) != 32 or not isinstance(obj.get("key_id"), str):
        msg = "a public key record holds key_id and 32 bytes of unpadded base64url public_key"
        raise BadInput(msg)
    return obj


def signature_problem(sth: dict[str, Any], records: list[dict[str, Any]]) -> str | None:
    """Why an STH's signature does not hold under the records' key (None when it does)."""
    record = next((r for r in records if r.get("key_id") == sth["key_id"]), None)
    if record is None:
        return f"key {sth['key_id']} is unknown: no public key record has that key_id"
    public = b64url_decode(record["public_key"])
    if key_id_of(public) != record["key_id"]:
        return (
            f"the record of key {record['key_id']} holds another key (its key_id is not its hash)"
        )
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(
            b64url_decode(sth["signature"]), signed_message(sth)
        )
    except InvalidSignature:
        return f"the tree head's signature does not verify under key {sth['key_id']}"
    return None


# ---------------------------------------------------------------------- proofs
def inclusion_proof(tree: LogTree, position: int, tree_size: int) -> dict[str, Any]:
    """§5 inclusion proof of the event at a log position; `BadInput` for a size beyond the
    log or a position not in the tree of that size."""
    with tree.reading() as reader:
        if not 0 < tree_size <= reader.size:
            msg = f"tree size {tree_size}: the log tree has sizes 1 to {reader.size}"
            raise BadInput(msg)
        found = reader.leaf_at(position)
        if found is None or found[0] >= tree_size:
            msg = f"no event at position {position} in the log tree of size {tree_size}"
            raise BadInput(msg)
        path = reader.hashes(inclusion_ranges(found[0], tree_size))
    return {"leaf_index": found[0], "tree_size": tree_size, "audit_path": [h.hex() for h in path]}


def consistency_proof(tree: LogTree, first: int, second: int) -> dict[str, Any]:
    """§5 consistency proof between two sizes; `BadInput` unless 0 <= M <= N <= the size."""
    with tree.reading() as reader:
        if not 0 <= first <= second <= reader.size:
            msg = (
                f"consistency {first} {second}: sizes must be 0 <= M <= N <= {reader.size} "
                "(the log's size)"
            )
            raise BadInput(msg)
        proof = reader.hashes(consistency_ranges(first, second))
    return {"first": first, "second": second, "proof": [h.hex() for h in proof]}


# ---------------------------------------------------------------------- publishing
def last_published(sth_file: Path | None) -> dict[str, Any] | None:
    """The STH published last to the file (None when there is none)."""
    if sth_file is None or not sth_file.exists():
        return None
    last = None
    with sth_file.open("rb") as handle:
        for line in handle:
            if line.strip():
                last = line
    if last is None:
        return None
    try:
        return check_sth(orjson.loads(last)["sth"])
    except (orjson.JSONDecodeError, KeyError, TypeError, BadInput) as error:
        msg = f"the last line of {sth_file} is not a published tree head: {error}"
        raise BadInput(msg) from None


Sender = Callable[[str, bytes, bytes], None]
"""Sends one message: topic, key, value."""


def publish(
    tree: LogTree, sth: dict[str, Any], sth_file: Path | None, send: Sender | None = None
) -> dict[str, Any] | None:
    """Append the STH with its consistency proof from the last published one; return that
    proof (None for the first). Kafka gets the same line when `send` is given."""
    previous = last_published(sth_file)
    consistency = None
    if previous is not None and previous["tree_size"] <= sth["tree_size"]:
        consistency = consistency_proof(tree, previous["tree_size"], sth["tree_size"])
    line = orjson.dumps({"sth": sth, "consistency": consistency})
    if sth_file is not None:
        sth_file.parent.mkdir(parents=True, exist_ok=True)
        with sth_file.open("ab") as handle:
            handle.write(line + b"\n")
    if send is not None:
        send(TREE_HEADS_TOPIC, b"tree-head", line)
    return consistency
