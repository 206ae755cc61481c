"""What the ledger publishes: topic routing and the pseudonymous message envelope.

Topics by stream; the message key is the aggregate ID, for a patient its keyed pseudonym
(consumers/pseudonyms.py), so one patient's events stay ordered within a partition. No name,
address, phone, date of birth, program patient ID or free text leaves the ledger: those fields
are dropped. No date from which a birth date follows is published: a patient event carries the
risk category it was judged under where it has one (enrollment, decisions), and a minor's
coming of age is its own `RiskCategoryChangedByAge` message, sent once the day has come.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import AwareDatetime, Field

from consumers.pseudonyms import Pseudonyms
from domain.base import Frozen, LedgerEvent
from domain.decision_events import AuthorizationVoided, ConfirmationVoided, Decision
from domain.participants import PHARMACY_EVENTS, PRESCRIBER_EVENTS
from domain.patient_events import (
    MenstrualAbnormalityRecorded,
    PatientEvent,
    PregnancyReported,
    PregnancyReportResolved,
    PregnancyTestRecorded,
)

SCHEMA_VERSION = 2
"""2: keyed patient pseudonyms, no `adult_from`, payloads validated by the schemas."""

TOPICS = {
    "patients": "rems.patients",
    "prescribers": "rems.prescribers",
    "pharmacies": "rems.pharmacies",
    "decisions": "rems.decisions",
    "safety": "rems.safety",
}
DEAD_LETTER_TOPIC = "rems.dead-letter"
AGE_CHANGE_TYPE = "RiskCategoryChangedByAge"
"""The message of a minor's coming of age (consumers/age.py), on `rems.patients`."""

SAFETY_EVENTS = (
    PregnancyReported,
    PregnancyReportResolved,
    MenstrualAbnormalityRecorded,
    PregnancyTestRecorded,
)
WITHHELD = frozenset(
    {
        "name",
        "address",
        "phone",
        "fax",
        "date_of_birth",
        "patient_id",
        "other_patient_id",
        "representative_name",
        "representative_address",
        "relationship",
        "medical_condition",
        "incapacity_statement",
        "concerns",
        "evidence",
        "reason",
        "message",
    }
)
"""Fields never published, at any depth: identifying data and free text (a denial's reasons go
out as rule IDs only; their messages can name the patient)."""
FREE_TEXT_FLAGS = {"concerns": "has_concerns", "evidence": "has_evidence"}
HIDDEN = WITHHELD | FREE_TEXT_FLAGS.keys()
"""Keys a dict loses or has replaced when scrubbed."""
CONTAINERS = (dict, list)
INTERNAL = frozenset({"previous_hash", "hash", "command_id", "actor"})
NOT_IN_PAYLOAD = set(
    INTERNAL | {"originator_id", "originator_version", "timestamp", "occurred_at", "event_id"}
)


class Envelope(Frozen):
    """One published event."""

    event_id: str
    """Unique event ID: consumers de-duplicate by it."""
    type: str
    """The event's past-tense name, e.g. `AuthorizationIssued`."""
    schema_version: int = SCHEMA_VERSION
    """Version of this envelope and payload schema."""
    aggregate_id: str
    """The aggregate ID (the message key): a patient's keyed pseudonym, a prescriber's or
    pharmacy's store ID."""
    aggregate_version: int
    """Position of the event in its aggregate."""
    occurred_at: AwareDatetime
    """When it happened."""
    recorded_at: AwareDatetime
    """When the ledger recorded it."""
    position: int
    """Position in the ledger's notification log."""
    payload: dict[str, Any] = Field(default_factory=dict)
    """The event's fields without identifying data."""


def topic_for(event: LedgerEvent) -> str | None:
    """The topic an event is published on (None: internal, not published)."""
    return topic_for_class(type(event))


def topic_for_class(event_class: type[LedgerEvent]) -> str | None:
    """The topic events of a class are published on (None: internal)."""
    if issubclass(event_class, Decision | AuthorizationVoided | ConfirmationVoided):
        return TOPICS["decisions"]
    if issubclass(event_class, SAFETY_EVENTS):
        return TOPICS["safety"]
    if issubclass(event_class, PatientEvent):
        return TOPICS["patients"]
    if issubclass(event_class, PRESCRIBER_EVENTS):
        return TOPICS["prescribers"]
    if issubclass(event_class, PHARMACY_EVENTS):
        return TOPICS["pharmacies"]
    return None


def scrubbed(value: Any) -> Any:
    """A JSON value without the withheld fields at any depth, free text as its flag."""
    if isinstance(value, dict):
        if value.keys().isdisjoint(HIDDEN):  # the usual case, one comprehension
            return {k: scrubbed(v) if isinstance(v, CONTAINERS) else v for k, v in value.items()}
        clean: dict[str, Any] = {}
        for key, item in value.items():
            if key in FREE_TEXT_FLAGS:
                clean[FREE_TEXT_FLAGS[key]] = bool(item)
            elif key not in WITHHELD:
                clean[key] = scrubbed(item) if isinstance(item, CONTAINERS) else item
        return clean
    if isinstance(value, list):
        return [scrubbed(item) if isinstance(item, CONTAINERS) else item for item in value]
    return value


def payload_of(event: LedgerEvent) -> dict[str, Any]:
    """The event's publishable fields."""
    payload: dict[str, Any] = scrubbed(event.model_dump(mode="json", exclude=NOT_IN_PAYLOAD))
    return payload


def published_aggregate_id(event: LedgerEvent, pseudonyms: Pseudonyms) -> str:
    """The aggregate ID a topic carries: a patient's keyed pseudonym, else the store ID."""
    if isinstance(event, PatientEvent):
        return str(pseudonyms.of(event.originator_id))
    return str(event.originator_id)


def envelope(event: LedgerEvent, position: int, pseudonyms: Pseudonyms) -> Envelope:
    """The published form of an event at a log position."""
    return Envelope(
        event_id=str(event.event_id),
        type=event.type_name,
        aggregate_id=published_aggregate_id(event, pseudonyms),
        aggregate_version=event.originator_version,
        occurred_at=event.occurred_at,
        recorded_at=event.timestamp,
        position=position,
        payload=payload_of(event),
    )


def encoded_message(
    event: LedgerEvent, position: int, pseudonyms: Pseudonyms
) -> tuple[bytes, bytes]:
    """The (key, value) bytes the relay sends for an event: the very bytes of
    `envelope(...).model_dump_json()`, without building and validating the model (the relay's
    hot path; `tests/integration/test_relay_encoding.py` holds the two equal)."""
    aggregate = published_aggregate_id(event, pseudonyms)
    body = {
        "event_id": str(event.event_id),
        "type": event.type_name,
        "schema_version": SCHEMA_VERSION,
        "aggregate_id": aggregate,
        "aggregate_version": event.originator_version,
        "occurred_at": event.occurred_at,
        "recorded_at": event.timestamp,
        "position": position,
        "payload": payload_of(event),
    }
    # OPT_UTC_Z: a UTC instant as `Z`, as pydantic writes it.
    return aggregate.encode(), orjson.dumps(body, option=orjson.OPT_UTC_Z)
