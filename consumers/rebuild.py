"""Turning a published envelope back into the domain event, for projections built from Kafka.

The envelope withholds identifying fields (consumers/envelope.py); the rebuilt event carries
placeholders the rules never read: name, address, phone and fax become "(withheld)", the
patient's program ID becomes the pseudonym (the aggregate ID), withheld free text becomes
"(withheld)" where the event requires it, and the free-text flags are dropped. No birth date is
published; the rules read only which side of 18 a patient is on, so the rebuilt one is a
placeholder on the side the published risk category says: a fixed old date for an adult, the
enrollment day for a minor (a minor until a `RiskCategoryChangedByAge` message says otherwise,
consumers/age.py).
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
from domain.patient_events import PatientEnrolled
from domain.values import RiskCategory

PLACEHOLDER = "(withheld)"
"""What a withheld text field holds in a rebuilt event."""
ADULT_DATE_OF_BIRTH = date(1900, 1, 1)
"""The birth date given to a patient who was an adult at enrollment (always adult after)."""
CHILD_CATEGORIES = frozenset(
    {
        RiskCategory.MALE_CHILD,
        RiskCategory.FEMALE_CHILD_REPRODUCTIVE_POTENTIAL,
        RiskCategory.FEMALE_CHILD_NOT_REPRODUCTIVE_POTENTIAL,
    }
)


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
        data["date_of_birth"] = placeholder_date_of_birth(
            message.payload.get("risk_category"), message.occurred_at.date()
        )
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


def placeholder_date_of_birth(risk_category: Any, enrolled_on: date) -> date:
    """A birth date on the side of 18 the enrollment's category says: no real one is sent."""
    try:
        category = RiskCategory(risk_category)
    except ValueError:
        msg = f"risk_category {risk_category!r} is not a risk category"
        raise RebuildError(msg) from None
    return enrolled_on if category in CHILD_CATEGORIES else ADULT_DATE_OF_BIRTH


def _without_flags(payload: dict[str, Any]) -> dict[str, Any]:
    flags = set(FREE_TEXT_FLAGS.values())
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
