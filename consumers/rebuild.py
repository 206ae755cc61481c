"""Turning a published envelope back into the domain event, for projections built from Kafka.

The envelope withholds identifying fields (consumers/envelope.py); the rebuilt event carries
placeholders the rules never read: name, address, phone and fax become "(withheld)", the
patient's program ID becomes the pseudonym (the aggregate ID), withheld free text becomes
"(withheld)" where the event requires it, and the free-text flags are dropped. The birth date
is rebuilt rule-equivalent from `adult_from`: a minor's is `birthday(adult_from, -18)` (same
18th birthday, so every age test on the 18-year boundary answers the same), an adult's is a
fixed old date. Categories depend on nothing else of the birth date.
"""

from __future__ import annotations

import types
import typing
from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from consumers.envelope import FREE_TEXT_FLAGS, WITHHELD, Envelope
from consumers.schemas import published_event_classes
from domain.base import LedgerEvent
from domain.calendar import birthday
from domain.patient_events import PatientEnrolled
from domain.ruleset import ruleset_in_force

PLACEHOLDER = "(withheld)"
"""What a withheld text field holds in a rebuilt event."""
ADULT_DATE_OF_BIRTH = date(1900, 1, 1)
"""The birth date given to a patient who was an adult at enrollment (always adult after)."""
ENVELOPE_ONLY = frozenset({"adult_from"})
"""Payload keys that are not fields of the event."""


class RebuildError(ValueError):
    """An envelope that cannot be turned back into a domain event (unknown type, bad payload)."""


@cache
def event_classes() -> dict[str, type[LedgerEvent]]:
    """The published event classes by type name."""
    return {cls.__name__: cls for cls in published_event_classes()}


def rebuild_event(message: Envelope) -> LedgerEvent:
    """The domain event an envelope was made from, with placeholders for withheld fields."""
    cls = event_classes().get(message.type)
    if cls is None:
        msg = f"unknown event type {message.type!r}"
        raise RebuildError(msg)
    try:
        originator_id = UUID(message.aggregate_id)
        event_id = UUID(message.event_id)
    except ValueError as error:
        msg = f"{message.type}: aggregate_id and event_id must be UUIDs ({error})"
        raise RebuildError(msg) from None
    data = _fill(cls, _without_flags(message.payload), message.aggregate_id)
    if cls is PatientEnrolled:
        data["date_of_birth"] = date_of_birth_for(message.payload.get("adult_from"))
    data.update(
        originator_id=originator_id,
        originator_version=message.aggregate_version,
        timestamp=message.recorded_at,
        occurred_at=message.occurred_at,
        event_id=event_id,
    )
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        msg = f"{message.type}: payload does not fit the event ({error.error_count()} errors)"
        raise RebuildError(msg) from error


def date_of_birth_for(adult_from: Any) -> date:
    """A birth date coming of age (R2) on the published `adult_from` (None: an adult)."""
    if adult_from is None:
        return ADULT_DATE_OF_BIRTH
    try:
        grown_up = date.fromisoformat(str(adult_from))
    except ValueError:
        msg = f"adult_from {adult_from!r} is not an ISO date"
        raise RebuildError(msg) from None
    return birthday(grown_up, -ruleset_in_force(grown_up).adult_age)


def _without_flags(payload: dict[str, Any]) -> dict[str, Any]:
    flags = set(FREE_TEXT_FLAGS.values()) | ENVELOPE_ONLY
    return {k: _strip_flags(v) for k, v in payload.items() if k not in flags}


def _strip_flags(value: Any) -> Any:
    if isinstance(value, dict):
        flags = set(FREE_TEXT_FLAGS.values())
        return {k: _strip_flags(v) for k, v in value.items() if k not in flags}
    if isinstance(value, list):
        return [_strip_flags(item) for item in value]
    return value


def _fill(model: type[BaseModel], data: dict[str, Any], pseudonym: str) -> dict[str, Any]:
    """Put placeholders into the withheld fields a model requires, at any depth."""
    filled = dict(data)
    for name, field in model.model_fields.items():
        if name in WITHHELD and name not in filled:
            if name == "patient_id":
                filled[name] = pseudonym
            elif name != "date_of_birth" and field.is_required():
                filled[name] = PLACEHOLDER
            continue
        value = filled.get(name)
        nested = _model_in(field.annotation)
        if nested is None:
            continue
        if isinstance(value, dict):
            filled[name] = _fill(nested, value, pseudonym)
        elif isinstance(value, list):
            filled[name] = [
                _fill(nested, item, pseudonym) if isinstance(item, dict) else item for item in value
            ]
    return filled


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `Guardian | None` or `tuple[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
