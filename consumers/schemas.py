"""JSON Schemas of the topics, generated from the pydantic models (`rems schemas OUT_DIR`).

One JSON Schema (Draft 2020-12) per topic that a standard validator enforces in full: the
envelope (no other member), `type` one of the topic's event types, and for each type an
`if`/`then` on `type` giving that type's `payload` schema: the event's own schema with the
withheld fields removed (so a `name` or `date_of_birth` in a payload fails
`additionalProperties: false`), the free-text flags added, every field the event requires
required. Shared definitions sit in the root `$defs`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from consumers.envelope import (
    AGE_CHANGE_TYPE,
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
DRAFT = "https://json-schema.org/draft/2020-12/schema"


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
    """The published payload's schema for one event class (its `$defs` still inside)."""
    schema = event_class.model_json_schema(mode="serialization")
    for name in ENVELOPE_FIELDS | INTERNAL:
        schema.get("properties", {}).pop(name, None)
    schema["required"] = [r for r in schema.get("required", []) if r not in ENVELOPE_FIELDS]
    schema["additionalProperties"] = False
    return dict(_prune(schema))


def _envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema(mode="serialization")
    properties = schema["properties"]
    properties["event_id"] = {"type": "string", "format": "uuid"}
    properties["aggregate_id"] = {"type": "string", "format": "uuid"}
    properties["schema_version"] = {"const": SCHEMA_VERSION}
    properties["aggregate_version"] = {"type": "integer", "minimum": 1}
    properties["position"] = {"type": "integer", "minimum": 1}
    properties["payload"] = {"type": "object"}
    schema["required"] = sorted(properties)
    schema["additionalProperties"] = False
    return schema


def topic_schema(topic: str, classes: list[type[LedgerEvent]]) -> dict[str, Any]:
    """The envelope schema of a topic: each event type's payload under `if`/`then` on `type`."""
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:rems:topic:{topic}:v{SCHEMA_VERSION}",
        "title": f"{topic} message (schema version {SCHEMA_VERSION})",
        "description": (
            "One event of the REMS ledger. Message key: aggregate_id (UTF-8); a patient's is "
            "a keyed pseudonym. No name, address, phone, birth date or program patient ID."
        ),
        **_envelope_schema(),
    }
    schema["properties"]["type"] = {"enum": [c.__name__ for c in classes]}
    definitions: dict[str, Any] = {}
    rules = []
    for event_class in classes:
        payload = payload_schema(event_class)
        for name, definition in payload.pop("$defs", {}).items():
            if definitions.setdefault(name, definition) != definition:
                msg = f"two different definitions named {name!r} on {topic}"
                raise ValueError(msg)
        rules.append(
            {
                "if": {"properties": {"type": {"const": event_class.__name__}}},
                "then": {"properties": {"payload": payload}},
            }
        )
    if topic == TOPICS["patients"]:  # consumers/age.py
        schema["properties"]["type"]["enum"].append(AGE_CHANGE_TYPE)
        category = {"$ref": "#/$defs/RiskCategory"}
        rules.append(
            {
                "if": {"properties": {"type": {"const": AGE_CHANGE_TYPE}}},
                "then": {
                    "properties": {
                        "payload": {
                            "type": "object",
                            "description": "A minor's category changed by age alone, sent on "
                            "the day (occurred_at: its first instant), never before.",
                            "properties": {
                                "previous_risk_category": category,
                                "risk_category": category,
                            },
                            "required": ["previous_risk_category", "risk_category"],
                            "additionalProperties": False,
                        }
                    }
                },
            }
        )
    schema.pop("$defs", None)
    if definitions:
        schema["$defs"] = definitions
    schema["allOf"] = rules
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
