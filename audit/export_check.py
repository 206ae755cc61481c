"""`rems verify-export`: an export checked offline, with nothing but the program's public key
records (AUDIT-FORMAT.md §6): the STH's signature, every event's hash and chain, every
inclusion proof into the log tree, and the last event as the patient's head in the heads tree.

Every finding names the event by position, originator ID and version. A file that is not an
export at all (malformed JSON, a malformed STH, proof or key record, an unknown key) is
`BadInput`: nothing can be said about it, which is not the same as a failed check.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from audit.merkle import leaf_hash, verify_inclusion
from audit.tree_heads import BadInput, check_key_record, check_sth, signature_problem
from audit.tree_leaves import head_leaf_data, log_leaf_data
from domain.chain import GENESIS, ChainError, stored_event_hash
from domain.registry import aggregate_id

_HEX64 = re.compile(r"[0-9a-f]{64}")
EVENT_MEMBERS = frozenset(
    {"position", "leaf_index", "originator_id", "originator_version", "topic", "state"}
    | {"inclusion_proof"}
)
HEAD_MEMBERS = frozenset(
    {"originator_id", "version", "hash", "leaf_index", "tree_size", "inclusion_proof"}
)


def key_records_of(document: Any) -> list[dict[str, Any]]:
    """The records of a KEYFILE: one record (`keys public --json`) or an array (`--all`)."""
    records = document if isinstance(document, list) else [document]
    return [check_key_record(record) for record in records]


def _path(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list) or not all(
        isinstance(h, str) and _HEX64.fullmatch(h) for h in value
    ):
        msg = f"{what} must be an array of 64-hex-digit hashes"
        raise BadInput(msg)
    return [bytes.fromhex(h) for h in value]


def _int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        msg = f"{what} must be a non-negative integer"
        raise BadInput(msg)
    return value


def _shape(record: Any) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The STH, events and head of an export; `BadInput` when they are not there."""
    if not isinstance(record, dict):
        msg = "an export is a JSON object"
        raise BadInput(msg)
    if record.get("sth") is None:
        msg = f"the export carries no signed tree head ({record.get('unsigned', 'sth is null')})"
        raise BadInput(msg)
    sth = check_sth(record["sth"])
    events, head = record.get("events"), record.get("head")
    if not isinstance(events, list) or not all(
        isinstance(e, dict) and set(e) == EVENT_MEMBERS for e in events
    ):
        members = ", ".join(sorted(EVENT_MEMBERS))
        msg = f"events must be an array of objects with exactly {members}"
        raise BadInput(msg)
    if not isinstance(head, dict) or set(head) != HEAD_MEMBERS:
        msg = f"head must be an object with exactly {', '.join(sorted(HEAD_MEMBERS))}"
        raise BadInput(msg)
    return sth, events, head


def check_export(
    record: Any, records: list[dict[str, Any]], patient_id: str | None = None
) -> list[str]:
    """Every problem of an export, each naming the event; `BadInput` for an unreadable one."""
    sth, events, head = _shape(record)
    if not any(r["key_id"] == sth["key_id"] for r in records):
        msg = f"unknown key {sth['key_id']}: not among the given public key records"
        raise BadInput(msg)
    problems: list[str] = []
    signature = signature_problem(sth, records)
    if signature is not None:
        problems.append(f"tree head {sth['tree_size']}: {signature}")
    root, size = bytes.fromhex(sth["root_hash"]), sth["tree_size"]
    expected_id = None if patient_id is None else str(aggregate_id("patient", patient_id))
    previous, last = GENESIS, None
    for number, event in enumerate(events, start=1):
        position = _int(event["position"], "position")
        aid, version = str(event["originator_id"]), event["originator_version"]
        where = f"position {position}, {aid} v{version}"
        path = _path(event["inclusion_proof"], f"{where}: inclusion_proof")
        state = event["state"]
        if not isinstance(state, dict) or not isinstance(event["topic"], str):
            problems.append(f"{where}: its state or topic is missing")
            continue
        if expected_id is not None and aid != expected_id:
            problems.append(f"{where}: not an event of patient {patient_id} ({expected_id})")
        if version != number:
            problems.append(f"{where}: expected version {number} (a version is missing)")
        stored = state.get("hash")
        try:
            recomputed = stored_event_hash(
                UUID(aid), _int(version, "version"), state, event["topic"]
            )
        except (ChainError, ValueError) as error:
            problems.append(f"{where}: its hash cannot be recomputed: {error}")
            recomputed = None
        if recomputed is not None and recomputed != stored:
            problems.append(f"{where}: its state does not match its hash (altered)")
        if state.get("previous_hash") != previous:
            problems.append(f"{where}: its previous_hash is not the hash of the event before")
        if position > sth["last_position"]:
            problems.append(f"{where}: after the tree head's last position")
        leaf = leaf_hash(log_leaf_data(position, aid, version, str(stored)))
        index = _int(event["leaf_index"], f"{where}: leaf_index")
        if not verify_inclusion(leaf, index, size, path, root):
            problems.append(f"{where}: its inclusion proof does not lead to the signed root")
        previous, last = str(stored), (aid, version, stored, where)
    problems.extend(_check_head(sth, head, last, expected_id))
    return problems


def _check_head(
    sth: dict[str, Any],
    head: dict[str, Any],
    last: tuple[str, Any, Any, str] | None,
    expected_id: str | None,
) -> list[str]:
    """The last event must be the aggregate's head, and the head must prove into heads_root."""
    aid, version = str(head["originator_id"]), head["version"]
    where = f"head {aid} v{version}"
    path = _path(head["inclusion_proof"], f"{where}: inclusion_proof")
    problems = []
    if expected_id is not None and aid != expected_id:
        problems.append(f"{where}: not the head of patient {expected_id}")
    if last is None:
        problems.append(f"{where}: the export holds no event")
    elif (last[0], last[1], last[2]) != (aid, version, head["hash"]):
        problems.append(
            f"{last[3]}: the last event is not the aggregate's head v{version} at tree head "
            f"{sth['tree_size']} (events after it were dropped from the export)"
        )
    leaf = leaf_hash(head_leaf_data(aid, _int(version, "head version"), str(head["hash"])))
    index, size = _int(head["leaf_index"], "head leaf_index"), _int(head["tree_size"], "size")
    if not verify_inclusion(leaf, index, size, path, bytes.fromhex(sth["heads_root"])):
        problems.append(f"{where}: its proof does not lead to the signed heads root")
    return problems
