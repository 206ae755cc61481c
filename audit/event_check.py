"""Whether a stored state is a valid event of the class its topic names (for `rems verify`).

Only the pure domain's modules are imported by topic: a forged topic must not make the audit
import arbitrary modules.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.utils import TopicError, resolve_topic
from pydantic import ValidationError

from domain.base import LedgerEvent
from domain.chain import CHAIN_MEMBER

EVENT_PACKAGE = "domain."
"""Ledger events live in the pure domain; a topic elsewhere is not imported."""


def ledger_event_class(topic: object) -> type[LedgerEvent] | None:
    """The ledger event class a topic names, or None (an untyped column, SQLite, may hold
    anything: only a string naming a domain module is resolved)."""
    if not (isinstance(topic, str) and topic.startswith(EVENT_PACKAGE)):
        return None
    try:
        cls = resolve_topic(topic)
    except TopicError:
        return None
    return cls if isinstance(cls, type) and issubclass(cls, LedgerEvent) else None


def brief(error: Exception) -> str:
    """An error in one line (a validation error: its first few fields)."""
    if not isinstance(error, ValidationError):
        return f"{type(error).__name__}: {error}"
    errors = error.errors(include_url=False)
    fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return f"{fields}{more}."


def as_current(
    cls: type[LedgerEvent], state: dict[str, Any], aid: UUID, version: int
) -> dict[str, Any]:
    """The state upcast to the class's current version and validated by it (as the mapper
    reads it); the plain data, never the model, is used afterwards."""
    data = dict(state)
    stored_version = data.pop("class_version", 1)
    data.pop(CHAIN_MEMBER, None)
    while stored_version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{stored_version}_v{stored_version + 1}")(data)
        stored_version += 1
    cls.model_validate({**data, "originator_id": aid, "originator_version": version})
    return data
