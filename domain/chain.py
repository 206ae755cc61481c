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
import math
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
        return hashlib.sha256(jcs_bytes(payload)).hexdigest()
    except rfc8785.CanonicalizationError as error:
        msg = f"the state cannot be canonicalised (RFC 8785): {error}"
        raise ChainError(msg) from error


JCS_SAFE_INTEGER = 2**53 - 1
"""The largest integer JCS writes (I-JSON)."""


def jcs_bytes(payload: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a JSON value. For strings, integers within +/-(2^53-1), booleans,
    nulls, lists, objects with ASCII member names and floats that JCS writes as Python does
    (an integral float is written as its integer, as ECMAScript does), JCS is exactly the
    standard library's sorted, compact, non-ASCII-escaping JSON (same escapes, lowercase
    `\\u00xx` for control characters; code-point order is UTF-16 order for ASCII names),
    written by its C encoder. Anything else (an exponent float, a non-ASCII name, a lone
    surrogate) is left to the `rfc8785` package, which also rejects what JCS cannot write."""
    try:
        ready = _jcs_ready(payload)
        text = json.dumps(ready, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode()
    except (_NotPlainError, UnicodeEncodeError):
        return rfc8785.dumps(payload)


class _NotPlainError(Exception):
    """A value the plain writer might write otherwise than JCS."""


def _jcs_ready(value: Any) -> Any:
    """The value with integral floats as integers; `_NotPlainError` where it is not plain."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -JCS_SAFE_INTEGER <= value <= JCS_SAFE_INTEGER:
            return value
        raise _NotPlainError
    if kind is float:
        if value.is_integer() and -JCS_SAFE_INTEGER <= value <= JCS_SAFE_INTEGER:
            return int(value)
        # ECMAScript and Python print the same shortest digits; only the exponent forms differ,
        # and an integral float past 2**53 (Python writes `9007199254740992.0`, JCS no `.0`).
        if math.isfinite(value) and not value.is_integer() and "e" not in repr(value):
            return value
        raise _NotPlainError
    if kind is dict:
        ready = {}
        for name, member in value.items():
            if type(name) is not str or not name.isascii():
                raise _NotPlainError
            ready[name] = _jcs_ready(member)
        return ready
    if kind is list:
        return [_jcs_ready(member) for member in value]
    raise _NotPlainError


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
