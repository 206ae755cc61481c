"""The hash a stored event must carry (AUDIT-FORMAT.md §1), recomputed at the speed of a scan.

`domain.chain.stored_event_hash` walks the state in Python and writes its JCS bytes with the
standard library or the `rfc8785` package; on a v2 row that is most of what `rems verify`
spends. Here the decoded state is checked once (`jcs_ready`): when every member name is ASCII
and every number an integer within +/-(2^53-1), orjson's sorted compact output is exactly RFC
8785 (same escapes, lowercase `\\u00xx`, non-ASCII written raw, ASCII names sorted as UTF-16).
A float with an integral value (`25.0`, which JCS writes `25`) is taken as its integer first.
Anything else (another float, a long integer, a non-ASCII name) is hashed by the domain's own
path.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import orjson

from domain.chain import (
    CHAIN_MEMBER,
    CHAIN_VERSION,
    JCS_SAFE_INTEGER,
    NOT_HASHED,
    stored_event_hash,
)

_NOT_READY: Any = object()
"""What `_ready` gives for a value orjson might write otherwise than JCS."""


def jcs_ready(state: dict[str, Any]) -> dict[str, Any] | None:
    """The decoded `state` when orjson's sorted compact bytes of it are its JCS bytes (itself,
    not a copy); a copy with its integral floats as integers when that makes it so; None when
    neither (a non-integral or huge float, an integer beyond JCS's, a non-ASCII name)."""
    ready = _object(state)
    return None if ready is _NOT_READY else ready


def _object(value: dict[str, Any]) -> Any:
    copy: dict[str, Any] | None = None
    for name, member in value.items():
        if not name.isascii():
            return _NOT_READY
        kind = type(member)
        if kind is str or member is None or kind is bool:
            continue
        ready = _ready(member)
        if ready is _NOT_READY:
            return _NOT_READY
        if ready is not member:
            if copy is None:
                copy = dict(value)
            copy[name] = ready
    return value if copy is None else copy


def _ready(value: Any) -> Any:
    """The value as JCS writes it through orjson: itself, or a copy with integral floats as
    integers; `_NOT_READY` when that is not possible."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -JCS_SAFE_INTEGER <= value <= JCS_SAFE_INTEGER else _NOT_READY
    if kind is float:
        if value.is_integer() and -JCS_SAFE_INTEGER <= value <= JCS_SAFE_INTEGER:
            return int(value)
        return _NOT_READY
    if kind is dict:
        return _object(value)
    if kind is list:
        items = [_ready(member) for member in value]
        if any(item is _NOT_READY for item in items):
            return _NOT_READY
        same = all(item is member for item, member in zip(items, value, strict=True))
        return value if same else items
    return _NOT_READY


def hash_of_stored(
    originator_id: UUID | str, version: int, state: dict[str, Any], topic: str
) -> str:
    """The hash the event must carry, from its decoded `state` (`ChainError` when it has none,
    as `stored_event_hash`)."""
    if (
        type(state.get(CHAIN_MEMBER)) is int
        and state[CHAIN_MEMBER] == CHAIN_VERSION
        and type(topic) is str
        and topic.isascii()
        and type(version) is int
        and -JCS_SAFE_INTEGER <= version <= JCS_SAFE_INTEGER
    ):
        ready = jcs_ready(state)
        if ready is not None:
            return _sorted_hash(originator_id, version, ready, topic)
    return stored_event_hash(originator_id, version, state, topic)


def _sorted_hash(originator_id: UUID | str, version: int, state: dict[str, Any], topic: str) -> str:
    payload = {k: v for k, v in state.items() if k not in NOT_HASHED}
    payload["originator_id"] = str(originator_id)
    payload["originator_version"] = version
    payload["topic"] = topic
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
