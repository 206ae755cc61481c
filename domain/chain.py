"""Tamper evidence: each event carries a hash of its content chained to the previous event of
its aggregate, so altering, deleting, reordering or inserting a stored event breaks the chain.

The hash is SHA-256 over canonical JSON (sorted keys, no spaces) of the event as stored: its JSON
state without `hash` (and without the mapper's `class_version` marker), plus the aggregate ID,
version and topic (the event's class), so moving a state under another class breaks it too.
Verification recomputes it from the stored bytes alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

GENESIS = "0" * 64
"""The `previous_hash` of an aggregate's first event."""

NOT_HASHED = frozenset({"hash", "class_version"})


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
    """SHA-256 (hex) of canonical JSON."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_event_hash(
    originator_id: UUID | str, version: int, state: dict[str, Any], topic: str
) -> str:
    """The hash an event must carry, from its stored JSON state, position and topic."""
    payload = {k: v for k, v in state.items() if k not in NOT_HASHED}
    payload["originator_id"] = str(originator_id)
    payload["originator_version"] = version
    payload["topic"] = topic
    return canonical_hash(payload)
