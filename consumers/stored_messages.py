"""The relay's messages written straight from an event's stored JSON (the relay's hot path).

An event is stored as the JSON its pydantic model writes (infra/transcoding.py). For a class
whose JSON comes back unchanged through the model (no nested models, validators, serialisers
or sets; a float field may hold a JSON integer, made a float as the model would) the bytes of
`consumers.envelope.encoded_message` follow from the stored data alone: the published fields
picked in the class's field order, free text reduced to its flag, lists and dicts scrubbed, a
patient's ID pseudonymised. No event model is built or validated. A stored state whose members
are not exactly the class's current fields (another class version, a field added or removed
since it was written) is left to the model, as is every class that does not come back
unchanged. `tests/integration/test_relay_encoding.py` holds the bytes equal, type by type.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin
from uuid import UUID

import orjson
from eventsourcing.utils import resolve_topic
from pydantic import AwareDatetime

from consumers.envelope import (
    FREE_TEXT_FLAGS,
    NOT_IN_PAYLOAD,
    SCHEMA_VERSION,
    WITHHELD,
    scrubbed,
    topic_for_class,
)
from consumers.pseudonyms import Pseudonyms
from domain.base import LedgerEvent
from domain.chain import CHAIN_MEMBER
from domain.patient_events import PatientEnrolled, PatientEvent

STORE_MEMBERS = frozenset({CHAIN_MEMBER, "class_version"})
"""Members the store adds to an event's state (infra/transcoding.py)."""
NOT_STORED = frozenset({"originator_id", "originator_version"})
SCALARS: frozenset[Any] = frozenset({str, int, bool, date, AwareDatetime, UUID, type(None), Any})
"""Leaf types whose stored JSON the model reads and writes back unchanged."""


@dataclass(frozen=True)
class StoredShape:
    """What a class's stored state holds, and how its message is written from it."""

    type_name: str
    """The event's type on the topic (its class name)."""
    patient: bool
    """A patient's event: its aggregate ID goes out as the keyed pseudonym."""
    class_version: int
    """The class version a stored state must carry."""
    stored_keys: frozenset[str]
    """The members of a stored state of the current class version (store members aside)."""
    fields: tuple[tuple[str, str], ...]
    """(published name, stored name) per payload field, in the model's field order."""
    nested: tuple[str, ...]
    """The fields that may hold lists or dicts (scrubbed at every depth)."""
    flags: tuple[str, ...]
    """The published flags of free texts (`has_concerns`: whether there were any)."""
    floats: tuple[str, ...]
    """The float fields (a JSON integer in one is a float to the model)."""


class Route(NamedTuple):
    """Where the events of one stored class topic go, and how their messages are written."""

    topic: str
    """The Kafka topic."""
    shape: StoredShape | None
    """How to write a message from the stored state (None: decode the event first)."""


@functools.cache
def route_for(stored_topic: str) -> Route | None:
    """Where events stored under a class topic go (None: internal, never published)."""
    event_class = resolve_topic(stored_topic)
    topic = topic_for_class(event_class)
    if topic is None:
        return None
    # Enrollments are decoded: the relay notes a minor's coming of age from the event.
    decoded = issubclass(event_class, PatientEnrolled)
    return Route(topic, None if decoded else stored_shape(event_class))


def stored_shape(event_class: type[LedgerEvent]) -> StoredShape | None:
    """How to publish a class's stored states directly (None: through its model)."""
    if not _comes_back_unchanged(event_class):
        return None
    fields, nested, flags, floats = [], [], [], []
    for name, info in event_class.model_fields.items():
        if name in NOT_IN_PAYLOAD:
            continue
        if name in FREE_TEXT_FLAGS:
            fields.append((FREE_TEXT_FLAGS[name], name))
            flags.append(FREE_TEXT_FLAGS[name])
        elif name not in WITHHELD:
            fields.append((name, name))
            if info.annotation in (float, float | None):
                floats.append(name)
            elif _may_nest(info.annotation):
                nested.append(name)
    return StoredShape(
        type_name=event_class.__name__,
        patient=issubclass(event_class, PatientEvent),
        class_version=event_class.class_version,
        stored_keys=frozenset(event_class.model_fields) - NOT_STORED,
        fields=tuple(fields),
        nested=tuple(nested),
        flags=tuple(flags),
        floats=tuple(floats),
    )


def stored_message(
    shape: StoredShape,
    state: Mapping[str, Any],
    position: int,
    originator: tuple[UUID | str, int],
    pseudonyms: Pseudonyms,
) -> tuple[bytes, bytes] | None:
    """The (key, value) bytes of `encoded_message` for a stored state at a log position, of the
    aggregate (its UUID, or its text as the store keeps it) and version `originator` (None: the
    state is not of the shape; decode it)."""
    if state.get("class_version", 1) != shape.class_version:
        return None
    if state.keys() - STORE_MEMBERS != shape.stored_keys:
        return None
    # Built in field order, then the few special fields replaced in place (order kept).
    payload = {published: state[name] for published, name in shape.fields}
    for name in shape.nested:
        if isinstance(payload[name], dict | list):
            payload[name] = scrubbed(payload[name])
    for published in shape.flags:
        payload[published] = bool(payload[published])
    for name in shape.floats:
        if type(payload[name]) is int:
            payload[name] = float(payload[name])
    aggregate_id, version = originator
    if shape.patient:
        aggregate = pseudonyms.text_of(str(aggregate_id))
    else:  # the store's text may be the UUID's hex digits alone (SQLite)
        aggregate = str(aggregate_id if isinstance(aggregate_id, UUID) else UUID(aggregate_id))
    body = {
        "event_id": state["event_id"],
        "type": shape.type_name,
        "schema_version": SCHEMA_VERSION,
        "aggregate_id": aggregate,
        "aggregate_version": version,
        "occurred_at": state["occurred_at"],
        "recorded_at": state["timestamp"],
        "position": position,
        "payload": payload,
    }
    return aggregate.encode(), orjson.dumps(body)


def _comes_back_unchanged(event_class: type[LedgerEvent]) -> bool:
    """Whether the model writes back exactly the JSON it reads, for every field (a float
    field's integer aside)."""
    decorators = event_class.__pydantic_decorators__
    if any(
        (
            decorators.validators,
            decorators.field_validators,
            decorators.root_validators,
            decorators.field_serializers,
            decorators.model_serializers,
            decorators.model_validators,
            decorators.computed_fields,
        )
    ):
        return False
    for info in event_class.model_fields.values():
        if info.metadata:  # Annotated validators, serialisers or constraints
            return False
        if info.annotation not in (float, float | None) and not _plain(info.annotation):
            return False
    return True


def _may_nest(annotation: Any) -> bool:
    """Whether values of a (plain) type may be lists or dicts."""
    if annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin in (tuple, list, dict):
        return True
    if origin in (Union, types.UnionType):
        return any(_may_nest(arg) for arg in get_args(annotation))
    return False


def _plain(annotation: Any) -> bool:
    """Whether values of a type are JSON scalars, enums, or tuples, lists, dicts and unions of
    them (no nested model, set or float)."""
    if annotation in SCALARS:
        return True
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin in (tuple, list, dict, Union, types.UnionType):
        return all(arg is Ellipsis or _plain(arg) for arg in get_args(annotation))
    return False
