"""Tamper evidence: each event carries a hash of its content chained to the previous event of
its aggregate, so altering, deleting, reordering or inserting a stored event breaks the chain.

The hash is taken over `E`: the event's stored JSON state without `hash` and the mapper's
`class_version` marker, plus the aggregate ID, version and topic (the event's class), so moving
a state under another class breaks it too (AUDIT-FORMAT.md §1). Events written since v2 carry
`"chain": 2` and are hashed as RFC 8785 (JCS) bytes; rows without `chain` are v1 (written
before v2, never rewritten) and keep their sorted-keys `json.dumps` hash. Verification
recomputes it from the stored bytes alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import rfc8785

GENESIS = "0" * 64
"""The `previous_hash` of an aggregate's first event."""

CHAIN_MEMBER = "chain"
"""The state member naming the hash scheme of an event (absent on v1 rows)."""
CHAIN_VERSION = 2
"""The hash scheme every new event is written under (JCS, AUDIT-FORMAT.md §1)."""

NOT_HASHED = frozenset({"hash", "class_version"})


class ChainError(ValueError):
    """A state whose hash cannot be computed: an unknown `chain`, or a value JCS cannot write
    (an integer beyond +/-(2^53-1), a NaN)."""


class Head(Protocol):
    """An aggregate's position: where its next event chains on."""

    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def head_hash(self) -> str: ...


@dataclass(frozen=True)
class NewAggregate:
    """The head of an aggregate that has no event yet."""

    id: UUID
    version: int = 0
    head_hash: str = GENESIS


def canonical_hash(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of the v1 canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def jcs_hash(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON; `ChainError` when JCS cannot write it."""
    try:
        return hashlib.sha256(rfc8785.dumps(payload)).hexdigest()
    except rfc8785.CanonicalizationError as error:
        msg = f"the state cannot be canonicalised (RFC 8785): {error}"
        raise ChainError(msg) from error


def chain_of(state: dict[str, Any]) -> int:
    """The hash scheme of a stored state: 1 without `chain`, 2 with `"chain": 2`;
    `ChainError` for any other value."""
    if CHAIN_MEMBER not in state:
        return 1
    value = state[CHAIN_MEMBER]
    if type(value) is int and value == CHAIN_VERSION:
        return CHAIN_VERSION
    msg = f"chain {value!r} is not a known hash scheme (only 2; absent for v1)"
    raise ChainError(msg)


def stored_event_hash(
    originator_id: UUID | str, version: int, state: dict[str, Any], topic: str
) -> str:
    """The hash an event must carry, from its stored JSON state, position and topic
    (`ChainError` when it has none)."""
    scheme = chain_of(state)
    payload = {k: v for k, v in state.items() if k not in NOT_HASHED}
    payload["originator_id"] = str(originator_id)
    payload["originator_version"] = version
    payload["topic"] = topic
    if scheme == 1:
        return canonical_hash(payload)
    return jcs_hash(payload)
