"""The relay's fast encoding (issue 12, relay throughput) sends exactly the envelope's bytes:
from the decoded event (`encoded_message`) and straight from the stored JSON
(`stored_message`), for every published event type, in plain and encrypted stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from application.ledger import Ledger
from consumers.envelope import encoded_message, envelope, topic_for, topic_for_class
from consumers.pseudonyms import Pseudonyms
from consumers.schemas import published_event_classes
from consumers.stored_messages import stored_message, stored_shape
from domain.base import LedgerEvent
from domain.decision_events import AuthorizationDenied, AuthorizationIssued, DispenseDenied
from domain.patient_events import PatientEnrolled, ReproductiveStatusUpdated
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from tests.conftest import make_ledger
from tests.integration.test_relay import (
    ledger_events,
    ours,
    published_events,
    read_messages,
    relay_on,
    simulated_program,
)
from tests.program import TZ, Program, local

MODEL_ONLY = {PatientEnrolled, ReproductiveStatusUpdated, AuthorizationDenied, DispenseDenied}
"""The published classes with nested models: their messages are written from the event."""


def every_kind(ledger: Ledger) -> Program:
    """Add to a simulated program the published kinds it lacks: voided authorizations and
    confirmations, denials, a reproductive status update, a change of prescriber, a possible
    duplicate flagged and found to be the same person; the program, to go on."""
    program = Program(ledger, start=local("2027-02-01 09:00")).participants()
    program.prescriber("DR2")
    program.ready_male("VOID1")
    first = program.authorize("VOID1")
    second = program.authorize("VOID1")
    assert not program.confirm(first["authorization_number"], "VOID1")["ok"]
    program.confirm(second["authorization_number"], "VOID1")
    program.authorize("VOID1")
    program.ok("change_prescriber", patient_id="VOID1", prescriber_id="DR2")
    assert program.enroll("REPRO1")["ok"]
    program.ok("update_reproductive_status", patient_id="REPRO1", hysterectomy=True)
    person = {"name": "Ana Duplicada", "date_of_birth": "1981-04-05"}
    assert program.enroll("OLD1", sex="male", **person)["ok"]
    assert program.enroll("NEW1", sex="male", **person)["ok"]
    program.counsel("NEW1")
    assert not program.authorize("NEW1")["ok"]
    program.ok(
        "review_possible_duplicate",
        patient_id="NEW1",
        other_patient_id="OLD1",
        finding="same_person",
        evidence="one photo ID",
    )
    return program


def published_rows(ledger: Ledger) -> Iterator[tuple[Any, LedgerEvent]]:
    """Every published row of the log with its decoded event, in log order."""
    start = 1
    while rows := ledger.notifications.read(start, 500):
        for row in rows:
            if topic_for_class(resolve_topic(row.topic)) is not None:
                yield row, ledger.notifications.decode(row)
        start = rows[-1].id + 1


def assert_stored_messages_are_the_envelopes(ledger: Ledger, pseudonyms: Pseudonyms) -> set[str]:
    """For every published row, `stored_message` of its stored state (where the class allows,
    the aggregate ID as a UUID or as text) and `encoded_message` of its event are the key and
    JSON of its envelope; the types seen."""
    seen = set()
    for row, event in published_rows(ledger):
        message = envelope(event, row.id, pseudonyms)
        expected = (message.aggregate_id.encode(), message.model_dump_json().encode())
        assert encoded_message(event, row.id, pseudonyms) == expected
        shape = stored_shape(type(event))
        assert (shape is None) == (type(event) in MODEL_ONLY), event.type_name
        if shape is not None:
            state = ledger.notifications.stored_state(row)
            origin = (row.originator_id, row.originator_version)
            assert stored_message(shape, state, row.id, origin, pseudonyms) == expected
            as_stored = (row.originator_id.hex, row.originator_version)  # SQLite's own text
            assert stored_message(shape, state, row.id, as_stored, pseudonyms) == expected
        seen.add(event.type_name)
    return seen


def test_stored_messages_are_the_envelopes_json_for_every_published_event_type(
    tmp_path: Path,
) -> None:
    """For every published event type of a simulated program, the message written from the
    stored JSON, and the one from the decoded event, are the envelope's key and JSON byte for
    byte."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=8)
    try:
        every_kind(ledger)
        seen = assert_stored_messages_are_the_envelopes(ledger, Pseudonyms(b"k" * 32))
    finally:
        ledger.close()
    assert seen == {cls.__name__ for cls in published_event_classes()}


def encrypted_ledger(tmp_path: Path) -> Ledger:
    """A ledger whose store is encrypted under a key file (`REMS_ENCRYPTION_KEY_FILE`)."""
    key_file = tmp_path / "keys" / "encryption.key"
    create_encryption_key_file(key_file)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'rems.db'}",
        clock=ClockMode.EVENT,
        timezone=TZ,
        encryption_key_file=key_file,
    )
    return Ledger(settings)


def test_stored_messages_of_an_encrypted_store_are_the_envelopes_json(tmp_path: Path) -> None:
    """In a store encrypted at rest the stored bytes are decrypted first: every published
    type's message is still the envelope's JSON byte for byte."""
    ledger = encrypted_ledger(tmp_path)
    try:
        every_kind(ledger).ready_frp("F1").fill("F1")
        rows = list(published_rows(ledger))
        assert all(b"authorization_number" not in row.state for row, _ in rows)
        seen = assert_stored_messages_are_the_envelopes(ledger, Pseudonyms(b"k" * 32))
    finally:
        ledger.close()
    assert {cls.__name__ for cls in MODEL_ONLY} | {
        "DispenseRecorded",
        "PregnancyTestRecorded",
    } <= seen


@pytest.mark.postgres
def test_stored_messages_on_postgresql_are_the_envelopes_json(fresh_postgres_url: str) -> None:
    """On PostgreSQL (the production store) the message written from the stored JSON is the
    envelope's JSON byte for byte too, for every kind the program makes."""
    ledger = make_ledger(fresh_postgres_url)
    try:
        every_kind(ledger).ready_frp("F1").fill("F1")
        seen = assert_stored_messages_are_the_envelopes(ledger, Pseudonyms(b"k" * 32))
    finally:
        ledger.close()
    assert {cls.__name__ for cls in MODEL_ONLY} | {
        "AuthorizationVoided",
        "PrescriberChanged",
    } <= seen


def _issued_row(ledger: Ledger) -> tuple[Any, dict[str, Any]]:
    row = next(row for row, e in published_rows(ledger) if isinstance(e, AuthorizationIssued))
    return row, dict(ledger.notifications.stored_state(row))


def _model_message(ledger: Ledger, row: Any, state: dict[str, Any]) -> tuple[bytes, bytes]:
    """The bytes of the model's way for a (possibly altered) stored state of a row."""
    stored = StoredEvent(row.originator_id, row.originator_version, row.topic, orjson.dumps(state))
    event = ledger.mapper.to_domain_event(stored)
    assert isinstance(event, LedgerEvent)
    return encoded_message(event, row.id, Pseudonyms(b"k" * 32))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.pop("refills"), id="a field added since it was stored"),
        pytest.param(lambda s: s.update(superseded=True), id="a field removed since"),
        pytest.param(lambda s: s.update(class_version=2), id="another class version"),
    ],
)
def test_a_stored_state_not_of_the_current_class_is_left_to_the_model(
    tmp_path: Path, change: Any
) -> None:
    """A stored state whose members are not exactly the class's current fields, or of another
    class version, is not written directly (the relay decodes it, upcasting and defaults
    applied)."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=1)
    try:
        row, state = _issued_row(ledger)
    finally:
        ledger.close()
    change(state)
    shape = stored_shape(AuthorizationIssued)
    assert shape is not None
    origin = (row.originator_id, row.originator_version)
    assert stored_message(shape, state, row.id, origin, Pseudonyms(b"k" * 32)) is None


def test_an_integer_in_a_float_field_is_written_as_the_model_writes_it(tmp_path: Path) -> None:
    """A stored `daily_dose_mg` of `10` goes out as `10.0`, as the model writes it."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=1)
    try:
        row, state = _issued_row(ledger)
        state["daily_dose_mg"] = 10
        expected = _model_message(ledger, row, state)
    finally:
        ledger.close()
    shape = stored_shape(AuthorizationIssued)
    assert shape is not None
    origin = (row.originator_id, row.originator_version)
    written = stored_message(shape, state, row.id, origin, Pseudonyms(b"k" * 32))
    assert written == expected
    assert b'"daily_dose_mg":10.0' in expected[1]


def test_encoded_message_writes_a_utc_instant_as_pydantic_does(tmp_path: Path) -> None:
    """An event recorded at a UTC instant is written with `Z`, as the envelope model writes it."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=1)
    pseudonyms = Pseudonyms(b"k" * 32)
    try:
        position, event = next((p, e) for p, e in ledger_events(ledger) if topic_for(e))
    finally:
        ledger.close()
    utc = event.model_copy(update={"timestamp": datetime(2026, 3, 1, 14, 0, 0, 5, tzinfo=UTC)})
    _, value = encoded_message(utc, position, pseudonyms)
    assert value == envelope(utc, position, pseudonyms).model_dump_json().encode()
    assert b'"recorded_at":"2026-03-01T14:00:00.000005Z"' in value


@pytest.mark.kafka
def test_the_relay_on_an_encrypted_store_publishes_the_envelopes_json(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The relay over an encrypted store publishes, for every event, its envelope's key and
    JSON byte for byte (stored JSON decrypted, enrollments and denials decoded)."""
    ledger = encrypted_ledger(tmp_path)
    try:
        every_kind(ledger).ready_frp("F1").fill("F1")
        expected = published_events(ledger)
        with relay_on(ledger, kafka_bootstrap) as relay:
            relay.drain()
            pseudonyms = relay.pseudonyms
    finally:
        ledger.close()
    mine = ours(read_messages(kafka_bootstrap), expected)
    assert sorted(m.event_id for m in mine) == sorted(expected)
    for message in mine:
        position, event = expected[message.event_id]
        published = envelope(event, position, pseudonyms)
        assert message.key == published.aggregate_id.encode()
        assert message.value == published.model_dump_json().encode()
    assert {type(event) for _, event in expected.values()} >= MODEL_ONLY
