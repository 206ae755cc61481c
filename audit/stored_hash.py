"""The hash a stored event must carry (AUDIT-FORMAT.md §1), recomputed at the speed of a scan.

`domain.chain.stored_event_hash` walks the state in Python to prove its JCS bytes are the plain
sorted JSON; on a v2 row that is most of what `rems verify` spends. Here the proof is read off
the stored bytes instead: when they are ASCII (every member name ASCII) and, outside string
literals, hold no digit followed by `.`, `e` or `E` (no float) and no run of 16 digits (no
integer that may pass 2^53-1), every value is a string, a safe integer, a boolean, a null, a
list or an object, and orjson's sorted compact output is exactly RFC 8785 (same escapes,
lowercase `\\u00xx`, non-ASCII written raw, ASCII names sorted as UTF-16). A float with only
zeros after its point (`25.0`, which JCS writes `25`) is rewritten as its integer in the bytes
first. Anything else is hashed by the domain's own path.
"""

from __future__ import annotations

import hashlib
import re
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

_NOT_PLAIN = re.compile(rb"\d[.eE]|\d{16}")
"""Outside strings: a float (a digit then `.`, `e` or `E`) or an integer of 16 digits or more."""


_INTEGRAL_FLOAT = re.compile(rb"(\d)\.0+(?=[,\]}\s]|$)")
"""Outside strings: a float with only zeros after its point, which JCS writes as an integer."""


def plain_json(data: bytes) -> bool:
    """Whether JSON bytes hold only ASCII, and no float or long integer outside strings. With
    no escaped quote, splitting at `"` leaves the text outside strings at the even places."""
    if not data.isascii() or b'\\"' in data:
        return False
    return _NOT_PLAIN.search(b"".join(data.split(b'"')[::2])) is None


def integral_floats_as_integers(data: bytes) -> bytes | None:
    """The same JSON with every float like `25.0` written `25` (as JCS writes it), when that
    leaves it plain (`plain_json`); None otherwise."""
    if not data.isascii() or b'\\"' in data:
        return None
    parts = data.split(b'"')
    parts[::2] = [_INTEGRAL_FLOAT.sub(rb"\1", p) if b"." in p else p for p in parts[::2]]
    if _NOT_PLAIN.search(b"".join(parts[::2])) is not None:
        return None
    return b'"'.join(parts)


def hash_of_stored(
    originator_id: UUID | str, version: int, state: dict[str, Any], topic: str, data: bytes
) -> str:
    """The hash the event must carry, from its decoded `state` and the JSON bytes `data` it
    was decoded from (`ChainError` when it has none, as `stored_event_hash`)."""
    if (
        type(state.get(CHAIN_MEMBER)) is int
        and state[CHAIN_MEMBER] == CHAIN_VERSION
        and type(topic) is str
        and topic.isascii()
        and type(version) is int
        and -JCS_SAFE_INTEGER <= version <= JCS_SAFE_INTEGER
    ):
        if plain_json(data):
            return _sorted_hash(originator_id, version, state, topic)
        as_integers = integral_floats_as_integers(data)
        if as_integers is not None:
            return _sorted_hash(originator_id, version, orjson.loads(as_integers), topic)
    return stored_event_hash(originator_id, version, state, topic)


def _sorted_hash(originator_id: UUID | str, version: int, state: dict[str, Any], topic: str) -> str:
    payload = {k: v for k, v in state.items() if k not in NOT_HASHED}
    payload["originator_id"] = str(originator_id)
    payload["originator_version"] = version
    payload["topic"] = topic
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
