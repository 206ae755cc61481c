"""JSON Schemas of the topics, generated from the pydantic models (`rems schemas OUT_DIR`).

One schema per topic: the envelope, with `payload` described per event type (the event's own
schema with the withheld fields removed and the free-text flags added).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from consumers.envelope import (
    FREE_TEXT_FLAGS,
    INTERNAL,
    SCHEMA_VERSION,
    TOPICS,
    WITHHELD,
    Envelope,
    topic_for_class,
)
from domain.base import LedgerEvent
from domain.decision_events import (
    AuthorizationDenied,
    AuthorizationIssued,
    AuthorizationVoided,
    ConfirmationVoided,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)
from domain.duplicate_events import (
    DuplicateEnrollmentNoted,
    PossibleDuplicateFlagged,
    PossibleDuplicateReviewed,
)
from domain.participants import PHARMACY_EVENTS, PRESCRIBER_EVENTS
from domain.patient_events import PatientEvent

ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "occurred_at", "event_id"}


def published_event_classes() -> list[type[LedgerEvent]]:
    """Every concrete event class that is published."""
    classes: list[type[LedgerEvent]] = [
        AuthorizationIssued,
        AuthorizationDenied,
        AuthorizationVoided,
        ConfirmationVoided,
        DispenseConfirmed,
        DispenseDenied,
        DispenseRecorded,
        *PRESCRIBER_EVENTS,
        *PHARMACY_EVENTS,
        PossibleDuplicateFlagged,
        PossibleDuplicateReviewed,
        DuplicateEnrollmentNoted,
    ]
    classes += [
        c
        for c in _subclasses(PatientEvent)
        if c not in classes and c.__module__.endswith("patient_events")
    ]
    return classes


def _subclasses(cls: type[Any]) -> list[type[Any]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found += _subclasses(sub)
    return found


def _prune(schema: Any) -> Any:
    if isinstance(schema, dict):
        pruned = {k: _prune(v) for k, v in schema.items()}
        properties = pruned.get("properties")
        if isinstance(properties, dict):
            for key in list(properties):
                if key in WITHHELD:
                    del properties[key]
                if key in FREE_TEXT_FLAGS:
                    properties[FREE_TEXT_FLAGS[key]] = {"type": "boolean"}
            pruned["required"] = [r for r in pruned.get("required", []) if r in properties]
        return pruned
    if isinstance(schema, list):
        return [_prune(item) for item in schema]
    return schema


def payload_schema(event_class: type[LedgerEvent]) -> dict[str, Any]:
    """The published payload's schema for one event class."""
    schema = event_class.model_json_schema()
    for name in ENVELOPE_FIELDS | INTERNAL:
        schema.get("properties", {}).pop(name, None)
    schema["required"] = [r for r in schema.get("required", []) if r not in ENVELOPE_FIELDS]
    if event_class.__name__ == "PatientEnrolled":
        schema["properties"]["adult_from"] = {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
            "description": "The day a minor turns 18 (absent for adults); no birth date is sent.",
        }
    return dict(_prune(schema))


def topic_schema(topic: str, classes: list[type[LedgerEvent]]) -> dict[str, Any]:
    """The envelope schema of a topic, with each event type's payload."""
    schema = Envelope.model_json_schema()
    schema["title"] = f"{topic} message (schema version {SCHEMA_VERSION})"
    schema["x-message-key"] = "aggregate_id (UTF-8)"
    schema["x-payload-by-type"] = {c.__name__: payload_schema(c) for c in classes}
    schema["properties"]["type"]["enum"] = [c.__name__ for c in classes]
    return schema


def write_schemas(out_dir: Path) -> list[Path]:
    """Write one `<topic>.schema.json` per topic; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_topic: dict[str, list[type[LedgerEvent]]] = {t: [] for t in TOPICS.values()}
    for event_class in published_event_classes():
        topic = topic_for_class(event_class)
        if topic is not None:
            by_topic[topic].append(event_class)
    written = []
    for topic, classes in by_topic.items():
        path = out_dir / f"{topic}.schema.json"
        path.write_text(json.dumps(topic_schema(topic, classes), indent=2, sort_keys=True))
        written.append(path)
    return written
