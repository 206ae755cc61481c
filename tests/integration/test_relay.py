"""The relay on a real Kafka broker: every event of a simulated program, once, in order, keyed,
routed to its topic, without identifying data (tests/integration/test_topic_schemas.py: the
JSON Schemas).

The session broker (`kafka_bootstrap`, from tests/conftest.py) and its topics are shared by every
test of the session, so each test builds its own SQLite ledger and picks its own messages out by
the event IDs of that ledger (a patient's aggregate ID on a topic is its keyed pseudonym, which
differs between stores without a shared key; prescribers and pharmacies keep their uuid5 IDs).
"""

from __future__ import annotations

import io
import itertools
import json
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from application.ledger import Ledger
from consumers.envelope import SCHEMA_VERSION, TOPICS, topic_for_class
from consumers.relay import Relay
from consumers.schemas import published_event_classes
from domain.base import LedgerEvent
from domain.patient_events import PatientEvent
from entrypoints.cli.kafka import build_relay
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.program import Program, local

with warnings.catch_warnings():
    # kafka-python 3.0.x calls the deprecated importlib.resources.read_text at import time.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaConsumer, TopicPartition

pytestmark = pytest.mark.kafka

TOPIC_NAMES = tuple(TOPICS.values())
READ_TIMEOUT_S = 60.0
ENVELOPE_KEYS = {
    "event_id",
    "type",
    "schema_version",
    "aggregate_id",
    "aggregate_version",
    "occurred_at",
    "recorded_at",
    "position",
    "payload",
}
INTERNAL_TYPES = {"NumberClaimed", "CommandReceived", "PersonIndexed"}
EXPECTED_TOPIC = {
    **dict.fromkeys(
        [
            "PatientEnrolled",
            "ReproductiveStatusUpdated",
            "CounselingRecorded",
            "ContraceptionRecorded",
            "PatientSurveyCompleted",
            "TherapyDiscontinued",
            "CbcRecorded",
            "CapsulesReturned",
            "PrescriberChanged",
            "PossibleDuplicateFlagged",
            "PossibleDuplicateReviewed",
            "DuplicateEnrollmentNoted",
        ],
        "rems.patients",
    ),
    **dict.fromkeys(
        [
            "PregnancyTestRecorded",
            "PregnancyReported",
            "PregnancyReportResolved",
            "MenstrualAbnormalityRecorded",
        ],
        "rems.safety",
    ),
    **dict.fromkeys(
        [
            "AuthorizationIssued",
            "AuthorizationDenied",
            "AuthorizationVoided",
            "DispenseConfirmed",
            "DispenseDenied",
            "ConfirmationVoided",
            "DispenseRecorded",
        ],
        "rems.decisions",
    ),
    **dict.fromkeys(
        ["PrescriberRegistered", "PrescriberCertified", "PrescriberSuspended"], "rems.prescribers"
    ),
    **dict.fromkeys(
        ["PharmacyCertified", "PharmacyRecertified", "PharmacySuspended"], "rems.pharmacies"
    ),
}
"""The routing the issue asks for, written out: event type -> topic."""
WITHHELD_KEYS = {
    "name",
    "address",
    "phone",
    "fax",
    "date_of_birth",
    "patient_id",
    "concerns",
    "evidence",
}

# Distinctive identifying strings of the extra commands run after the demo.
EXTRA_PRESCRIBER = {"name": "Dr Evelyn Quartermain", "address": "9 Lantern Blvd", "fax": "555-0177"}
EXTRA_PHARMACY = {"name": "Quartermain Apothecary", "address": "41 Wharf Road"}
EXTRA_PATIENT = {
    "name": "Ottoline Farquharson",
    "address": "8 Juniper Close",
    "phone": "555-0163",
    "date_of_birth": "1988-07-19",
}
SURVEY_CONCERNS = "Neighbour Jane Roe takes my capsules"
RESOLUTION_EVIDENCE = "Ultrasound at 5 Harbor Rd by Dr Vale"


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Message:
    """One record read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes

    @property
    def body(self) -> dict[str, Any]:
        """The decoded envelope."""
        return cast(dict[str, Any], json.loads(self.value))

    @property
    def event_id(self) -> str:
        """The envelope's event ID."""
        return str(self.body["event_id"])


def read_messages(
    bootstrap: str, topics: Iterable[str] = TOPIC_NAMES, timeout_s: float = READ_TIMEOUT_S
) -> list[Message]:
    """Every record now on `topics`, read from the start up to each partition's end offset,
    in (topic, partition, offset) order."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="rems-test-reader",
    )
    messages: list[Message] = []
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic))
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, "timed out reading the topics to their end"
            for records in consumer.poll(timeout_ms=500).values():
                messages.extend(
                    Message(r.topic, r.partition, r.offset, r.key, r.value) for r in records
                )
    finally:
        consumer.close()
    messages.sort(key=lambda m: (m.topic, m.partition, m.offset))
    return messages


def end_offsets(bootstrap: str, topics: Iterable[str] = TOPIC_NAMES) -> dict[tuple[str, int], int]:
    """The end offset of every partition of `topics`."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, client_id="rems-test")
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic))
        ]
        return {
            (tp.topic, tp.partition): off for tp, off in consumer.end_offsets(partitions).items()
        }
    finally:
        consumer.close()


def ledger_events(ledger: Ledger) -> list[tuple[int, LedgerEvent]]:
    """Every event of the ledger with its notification-log position, in log order."""
    events: list[tuple[int, LedgerEvent]] = []
    start = 1
    while batch := ledger.notifications.events(start, 1000):
        events += batch
        start = batch[-1][0] + 1
    return events


def published_events(ledger: Ledger) -> dict[str, tuple[int, LedgerEvent]]:
    """The ledger's events that should be on a topic, by event ID."""
    return {
        str(event.event_id): (position, event)
        for position, event in ledger_events(ledger)
        if event.type_name not in INTERNAL_TYPES
    }


def ours(messages: list[Message], event_ids: Iterable[str]) -> list[Message]:
    """The messages that carry one of `event_ids` (this test's ledger), order kept."""
    wanted = set(event_ids)
    kept = []
    for message in messages:
        try:
            event_id = message.event_id
        except (ValueError, KeyError, TypeError):  # another test's record, not an envelope
            continue
        if event_id in wanted:
            kept.append(message)
    return kept


def first_occurrences(messages: list[Message]) -> list[Message]:
    """What a consumer de-duplicating by event ID keeps: each event's first record."""
    seen: set[str] = set()
    kept = []
    for message in messages:
        if message.event_id not in seen:
            seen.add(message.event_id)
            kept.append(message)
    return kept


def assert_per_key_order(messages: list[Message]) -> None:
    """Within each topic, all records of a key sit in one partition, and in offset order their
    log positions and aggregate versions strictly increase."""
    by_key: dict[tuple[str, bytes], list[Message]] = defaultdict(list)
    for message in sorted(messages, key=lambda m: (m.topic, m.partition, m.offset)):
        by_key[(message.topic, message.key)].append(message)
    for (topic, key), records in by_key.items():
        assert len({m.partition for m in records}) == 1, (topic, key)
        positions = [m.body["position"] for m in records]
        versions = [m.body["aggregate_version"] for m in records]
        assert all(a < b for a, b in itertools.pairwise(positions)), (
            topic,
            key,
            positions,
        )
        assert all(a < b for a, b in itertools.pairwise(versions)), (
            topic,
            key,
            versions,
        )


@contextmanager
def relay_on(ledger: Ledger, bootstrap: str) -> Iterator[Relay]:
    """The project's relay (`build_relay`) over the ledger; producer and database closed after."""
    relay, database = build_relay(ledger, bootstrap)
    try:
        yield relay
    finally:
        relay.close(timeout=10)
        database.close()


def simulated_program(url: str, patients: int = 20) -> tuple[Ledger, list[dict[str, Any]]]:
    """A ledger holding the demo program plus a few extra commands that make internal events
    (command receipts, number claims) and the remaining published kinds; with every command."""
    ledger = make_ledger(url)
    out = io.BytesIO()
    run_demo(ledger, patients=patients, commands_out=out)
    commands = [json.loads(line) for line in out.getvalue().splitlines()]
    program = Program(ledger, start=local("2027-01-04 09:00"))
    extras: list[dict[str, Any]] = [
        {"command": "register_prescriber", "prescriber_id": "DR900", **EXTRA_PRESCRIBER},
        {"command": "certify_prescriber", "prescriber_id": "DR900", "command_id": "relay-t-1"},
        {"command": "certify_pharmacy", "pharmacy_id": "PH900", **EXTRA_PHARMACY},
        {
            "command": "suspend_prescriber",
            "prescriber_id": "DR008",
            "reason": "licence lapsed",
            "command_id": "relay-t-2",
        },
        {
            "command": "enroll_patient",
            "patient_id": "PT-EXTRA",
            "prescriber_id": "DR900",
            **EXTRA_PATIENT,
            "sex": "male",
            "diagnosis_icd10": "C90.00",
            "language": "english",
            "patient_signed": True,
            "prescriber_signed": True,
            "all_statements_marked": True,
            "command_id": "relay-t-3",
        },
        {
            "command": "record_patient_survey",
            "patient_id": "PT-EXTRA",
            "compliant": False,
            "concerns": SURVEY_CONCERNS,
        },
        {
            "command": "resolve_pregnancy_report",
            "patient_id": "PT-00001",
            "resolution": "not_pregnant",
            "evidence": RESOLUTION_EVIDENCE,
            "resolved_on": "2027-01-04",
        },
    ]
    for extra in extras:
        fields = {k: v for k, v in extra.items() if k != "command"}
        program.ok(extra["command"], **fields)
        program.advance(minutes=5)
        commands.append(extra)
    return ledger, commands


# --------------------------------------------------------------------------- delivery


def test_every_event_is_published_once_in_log_order_keyed_with_its_envelope(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """Every non-internal event of a simulated program is published exactly once, keyed by its
    aggregate ID, with the full envelope, in notification-log order per key and partition."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}")
    try:
        everything = ledger_events(ledger)
        expected = published_events(ledger)
        with relay_on(ledger, kafka_bootstrap) as relay:
            passed = relay.drain()
            assert passed == len(everything)
            assert relay.positions.get() == everything[-1][0]
            pseudonyms = relay.pseudonyms
    finally:
        ledger.close()
    internal_ids = {str(e.event_id) for _, e in everything if e.type_name in INTERNAL_TYPES}
    assert {e.type_name for _, e in everything} >= INTERNAL_TYPES  # the program made both kinds

    messages = read_messages(kafka_bootstrap)
    assert not internal_ids & {m.event_id for m in messages}, "an internal event was published"
    mine = ours(messages, expected)
    assert sorted(m.event_id for m in mine) == sorted(expected), "not every event exactly once"

    for message in mine:
        body = message.body
        position, event = expected[message.event_id]
        assert set(body) == ENVELOPE_KEYS
        key = (
            pseudonyms.of(event.originator_id)
            if isinstance(event, PatientEvent)
            else event.originator_id
        )
        assert message.key == str(key).encode()
        assert body["aggregate_id"] == str(key)
        assert body["type"] == event.type_name
        assert body["schema_version"] == SCHEMA_VERSION
        assert body["aggregate_version"] == event.originator_version
        assert datetime.fromisoformat(body["occurred_at"]) == event.occurred_at
        assert datetime.fromisoformat(body["recorded_at"]) == event.timestamp
        assert body["position"] == position
        assert isinstance(body["payload"], dict)
    assert_per_key_order(mine)


def test_events_are_routed_to_the_five_topics_as_documented(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """Each event type lands on its documented topic, the table agrees with consumers/envelope.py
    for every published class, and a simulated program reaches all five topics."""
    published = {c.__name__ for c in published_event_classes()}
    assert published == set(EXPECTED_TOPIC)
    for event_class in published_event_classes():
        assert topic_for_class(event_class) == EXPECTED_TOPIC[event_class.__name__]

    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}")
    try:
        expected = published_events(ledger)
        with relay_on(ledger, kafka_bootstrap) as relay:
            relay.drain()
    finally:
        ledger.close()
    mine = ours(read_messages(kafka_bootstrap), expected)
    for message in mine:
        assert message.topic == EXPECTED_TOPIC[message.body["type"]], message.body["type"]
    assert {m.topic for m in mine} == set(TOPIC_NAMES)


def test_drain_again_publishes_nothing(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """Once the log is drained, draining again (same relay or a new one) sends no message."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=5)
    try:
        with relay_on(ledger, kafka_bootstrap) as relay:
            assert relay.drain() > 0
            position = relay.positions.get()
            before = end_offsets(kafka_bootstrap)
            assert relay.drain() == 0
        with relay_on(ledger, kafka_bootstrap) as relay:
            assert relay.drain() == 0
            assert relay.positions.get() == position
        assert end_offsets(kafka_bootstrap) == before
    finally:
        ledger.close()


def test_a_new_relay_on_the_same_database_resumes_where_the_last_one_stopped(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """The acknowledged position survives in the ledger's database: a new ledger and relay on the
    same file start after it, so the whole log is still published exactly once."""
    url = f"sqlite:///{tmp_path / 'rems.db'}"
    ledger, _ = simulated_program(url, patients=5)
    try:
        with relay_on(ledger, kafka_bootstrap) as relay:
            relay.batch_size = 40
            assert relay.publish_batch() == 40
            assert relay.publish_batch() == 40
            assert relay.positions.get() == 80
    finally:
        ledger.close()

    reopened = make_ledger(url)
    try:
        expected = published_events(reopened)
        total = len(ledger_events(reopened))
        with relay_on(reopened, kafka_bootstrap) as relay:
            assert relay.positions.get() == 80
            assert relay.drain() == total - 80
    finally:
        reopened.close()
    mine = ours(read_messages(kafka_bootstrap), expected)
    assert sorted(m.event_id for m in mine) == sorted(expected)


# --------------------------------------------------------------------------- no PHI


def _identifying_strings(commands: list[dict[str, Any]]) -> set[str]:
    """The identifying strings and free text the commands carried, which no message may hold."""
    secrets: set[str] = {SURVEY_CONCERNS, RESOLUTION_EVIDENCE}
    for command in commands:
        kind = command["command"]
        if kind == "enroll_patient":
            secrets |= {
                command["name"],
                command["address"],
                command["phone"],
                command["date_of_birth"],
                command["patient_id"],
            }
            if guardian := command.get("guardian"):
                secrets.add(guardian["name"])
        elif kind in ("register_prescriber", "certify_pharmacy"):
            secrets |= {command["name"], command["address"]}
            if "fax" in command:
                secrets.add(command["fax"])
    return secrets


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str | None, Any]]:
    """(path, key, value) of every node of a decoded JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", None, item
            yield from _walk(item, f"{path}[{index}]")


def assert_no_identifying_data(
    messages: list[Message], secrets: set[str], withheld_keys: set[str] = WITHHELD_KEYS
) -> None:
    """No secret string anywhere in a key or value, no withheld key name at any depth."""
    for message in messages:
        for secret in secrets:
            assert secret.encode() not in message.key, (secret, message.key)
            assert secret.encode() not in message.value, (secret, message.body)
        for path, key, _ in _walk(message.body):
            assert key not in withheld_keys, (path, message.body["type"])


def test_no_name_address_phone_or_birth_date_in_any_message(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """Reading every message of a simulated program, no patient name, address, phone, program ID
    or birth date, no participant name, address or fax, and no free text appears anywhere."""
    ledger, commands = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}")
    try:
        expected = published_events(ledger)
        with relay_on(ledger, kafka_bootstrap) as relay:
            relay.drain()
    finally:
        ledger.close()
    secrets = _identifying_strings(commands)
    births = {c["date_of_birth"] for c in commands if c["command"] == "enroll_patient"}
    assert len(births) > 20
    assert EXTRA_PATIENT["date_of_birth"] in births
    assert any(c.get("guardian") for c in commands)  # minors' guardians were on the forms

    mine = ours(read_messages(kafka_bootstrap), expected)
    assert len(mine) == len(expected)
    assert births <= secrets  # so no ISO date equal to a birth date, alone or in a datetime
    assert_no_identifying_data(mine, secrets)
    flags = {m.body["type"]: m.body["payload"] for m in mine}
    assert flags["PatientSurveyCompleted"].get("has_concerns") is not None
    assert flags["PregnancyReportResolved"]["has_evidence"] is True


def test_an_incompetent_adults_representative_is_not_published(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """An incompetent adult's authorized representative (name and address, on the form and in
    the prescriber's letter) and the letter's medical condition never appear on a topic."""
    ledger = make_ledger(f"sqlite:///{tmp_path / 'rems.db'}")
    try:
        program = Program(ledger).participants()
        representative = {"name": "Rosalind Pemberton-Vance", "address": "77 Proxy Lane"}
        result = program.enroll(
            "PT-REP",
            sex="male",
            competent=False,
            patient_signed=False,
            authorized_representative={
                **representative,
                "relationship": "daughter",
                "power_of_attorney": False,
                "signed": True,
                "signed_on": "2026-02-20",
            },
            prescriber_letter={
                "on_letterhead": True,
                "signed_on": "2026-02-20",
                "incapacity_statement": "unable to understand the risks of therapy",
                "medical_condition": "advanced dementia",
                "representative_name": representative["name"],
                "representative_address": representative["address"],
                "relationship": "daughter",
                "accepts_responsibility": True,
            },
        )
        assert result["ok"], result
        expected = published_events(ledger)
        with relay_on(ledger, kafka_bootstrap) as relay:
            relay.drain()
    finally:
        ledger.close()
    mine = ours(read_messages(kafka_bootstrap), expected)
    assert any(m.body["type"] == "PatientEnrolled" for m in mine)
    assert_no_identifying_data(
        mine,
        {*representative.values(), "advanced dementia", "PT-REP"},
        WITHHELD_KEYS | {"representative_name", "representative_address", "medical_condition"},
    )
