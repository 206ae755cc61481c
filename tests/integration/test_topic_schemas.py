"""The topics' JSON Schemas (issue 12, point 3) read by the standard `jsonschema` validator.

`rems schemas` writes Draft 2020-12 schemas with standard keywords only; every message of a
simulated program, as read back from the broker, validates with format checking on, and the
mutations a downstream team tried (a wrong payload type, a missing `authorization_number`, an
empty payload, a `name` or `date_of_birth` in a payload) each fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from consumers.envelope import AGE_CHANGE_TYPE, TOPICS
from consumers.schemas import write_schemas
from tests.integration.test_relay import (
    EXPECTED_TOPIC,
    Message,
    ours,
    published_events,
    read_messages,
    relay_on,
    simulated_program,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
NON_STANDARD = "x-"


def validators(folder: Path) -> dict[str, Draft202012Validator]:
    """A format-checking Draft 2020-12 validator per topic, from `write_schemas`."""
    found = {}
    for path in write_schemas(folder):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        found[path.name.removesuffix(".schema.json")] = Draft202012Validator(
            schema, format_checker=FormatChecker()
        )
    return found


def keys_of(schema: Any) -> set[str]:
    """Every object key used anywhere in a schema document."""
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in keys_of(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in keys_of(v)}
    return set()


def test_each_topic_schema_is_draft_2020_12_with_standard_keywords_only(tmp_path: Path) -> None:
    """Five schemas, each declaring `$schema` Draft 2020-12, valid against the metaschema,
    closed (`additionalProperties: false`) and with one `if`/`then` per event type of its topic;
    no `x-` keyword anywhere."""
    found = validators(tmp_path)
    assert sorted(found) == sorted(TOPICS.values())
    for topic, validator in found.items():
        schema = validator.schema
        assert schema["$schema"] == DRAFT
        assert schema["additionalProperties"] is False
        types = {name for name, t in EXPECTED_TOPIC.items() if t == topic}
        if topic == TOPICS["patients"]:
            types.add(AGE_CHANGE_TYPE)  # sent by the relay, not a ledger event
        assert set(schema["properties"]["type"]["enum"]) == types
        assert {rule["if"]["properties"]["type"]["const"] for rule in schema["allOf"]} == types
        for rule in schema["allOf"]:
            payload = rule["then"]["properties"]["payload"]
            assert payload["additionalProperties"] is False
            assert not {"name", "address", "phone", "date_of_birth"} & set(payload["properties"])
        assert not [k for k in keys_of(schema) if k.startswith(NON_STANDARD)], topic


def _message_of(messages: list[Message], kind: str) -> Message:
    return next(m for m in messages if m.body["type"] == kind)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["payload"][path] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        del body["payload"][path]

    return change


def _empty(body: dict[str, Any]) -> None:
    body["payload"] = {}


MUTATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "days_supply as text": ("AuthorizationIssued", _set("days_supply", "28")),
    "risk_category unknown": ("AuthorizationIssued", _set("risk_category", "adult")),
    "missing authorization_number": ("AuthorizationIssued", _drop("authorization_number")),
    "empty payload": ("PatientEnrolled", _empty),
    "a name in the payload": ("PatientEnrolled", _set("name", "Jane Roe")),
    "a birth date in the payload": ("PatientEnrolled", _set("date_of_birth", "1990-05-01")),
    "an adult_from in the payload": ("PatientEnrolled", _set("adult_from", "2030-05-01")),
    "an expiry that is no date-time": ("AuthorizationIssued", _set("expires_at", "soon")),
    "a test result of the wrong kind": ("PregnancyTestRecorded", _set("result", True)),
}


@pytest.mark.kafka
def test_every_message_of_a_simulated_program_validates_and_each_mutation_fails(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Every message the relay published for a simulated program, read back from the broker,
    validates against its topic's schema with `jsonschema` (formats checked); each of the
    mutations of the issue, applied to a real message, makes it fail."""
    found = validators(tmp_path / "schemas")
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}")
    try:
        expected = published_events(ledger)
        with relay_on(ledger, kafka_bootstrap) as relay:
            relay.drain()
    finally:
        ledger.close()
    mine = ours(read_messages(kafka_bootstrap), expected)
    assert len(mine) == len(expected)
    assert {kind for kind, _ in MUTATIONS.values()} <= {m.body["type"] for m in mine}
    for message in mine:
        errors = list(found[message.topic].iter_errors(message.body))
        assert not errors, (message.body["type"], [e.message for e in errors[:3]])

    for label, (kind, mutate) in MUTATIONS.items():
        original = _message_of(mine, kind)
        body = copy.deepcopy(original.body)
        mutate(body)
        assert not found[original.topic].is_valid(body), label
