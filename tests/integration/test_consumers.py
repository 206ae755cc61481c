"""The consumer side of the Kafka topics (issue 5, point 3), against the real broker.

The subscriber applies each event's effects once (event IDs recorded in the effects'
transaction), commits offsets only after that transaction, hands its processed offsets over on a
rebalance (commit-on-revoke), survives being killed mid-batch, and dead-letters what it cannot
use; the safety consumer opens MedWatch follow-up cases and flags missing reports after 24 hours.
Each test uses its own topics or consumer group, so tests never see each other's messages.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from application.ledger import Ledger
from consumers.envelope import Envelope
from consumers.safety import SAFETY_TOPICS, SafetyCases, SafetyConsumer
from consumers.safety_case import CaseKind
from consumers.subscriber import DataError, Subscriber
from entrypoints.cli.kafka import build_relay
from infra.kafka_clients import create_topics, idempotent_producer, manual_commit_consumer
from infra.views import Cursor, ViewDatabase
from tests.kafka_helpers import start_at_end
from tests.program import TZ, Program

with warnings.catch_warnings():
    # kafka-python 3.0 calls importlib.resources' deprecated read_text/open_text on import.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import TopicPartition

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0
CHILD_START_S = 90.0
"""A fresh interpreter imports the consumer, joins its group and applies six messages: on a
loaded CI machine that alone has taken more than 30 s."""
FAST_GROUP = {"session_timeout_ms": 10_000, "heartbeat_interval_ms": 1_000}
"""A short session (the broker allows 6 s; 10 s rides out a loaded machine): a killed member is
dropped from its group after 10 s."""

STEADY_GROUP = {"session_timeout_ms": 45_000, "heartbeat_interval_ms": 1_000}
"""For tests where no member dies: a session long enough that a machine too loaded to heartbeat
for seconds never evicts a live member (an evicted member loses its partitions uncommitted and
their records are delivered again: dropped as repeats, but not what those tests look at)."""


# -- helpers -------------------------------------------------------------------------------


def _name(prefix: str) -> str:
    return f"test.{prefix}.{uuid.uuid4().hex[:10]}"


def _envelope(n: int, **payload: Any) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(
        event_id=str(uuid.uuid4()),
        type="TestFact",
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
        occurred_at=now,
        recorded_at=now,
        position=n,
        payload={"n": n, **payload},
    )


def _publish(bootstrap: str, topic: str, values: list[bytes], partitions: int = 1) -> None:
    producer = idempotent_producer(bootstrap)
    try:
        futures = [
            producer.send(topic, value=value, key=b"k%d" % i, partition=i % partitions)
            for i, value in enumerate(values)
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)


def _effects_table(store: ViewDatabase) -> None:
    with store.transaction() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS effects (event_id TEXT NOT NULL, n INTEGER NOT NULL)"
        )


def record_effect(message: Envelope, cursor: Cursor) -> None:
    """The test handler: one row per application (no unique key, so doubles would show)."""
    if message.payload.get("bad"):
        raise DataError("payload marked bad")
    cursor.execute(
        "INSERT INTO effects (event_id, n) VALUES (?, ?)", (message.event_id, message.payload["n"])
    )


def _effect_counts(url: str) -> dict[int, int]:
    # A plain read, not `ViewDatabase.transaction()` (BEGIN IMMEDIATE): a consumer may hold
    # the write lock, and WAL readers never wait for it.
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        rows = connection.execute("SELECT n, COUNT(*) FROM effects GROUP BY n").fetchall()
    return {int(n): int(count) for n, count in rows}


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _committed(bootstrap: str, group: str, topic: str, partitions: int = 1) -> list[int | None]:
    consumer = manual_commit_consumer(bootstrap, group)
    try:
        return [consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
    finally:
        consumer.close()


class Member(threading.Thread):
    """A subscriber running `run()` in its own thread (its SQLite connection lives there)."""

    def __init__(self, bootstrap: str, group: str, topic: str, url: str, **options: Any) -> None:
        super().__init__(daemon=True)
        self.args = (bootstrap, group, topic, url)
        self.options = options
        self.stop = threading.Event()
        self.started_up = threading.Event()
        self.subscriber: Subscriber | None = None

    def run(self) -> None:
        bootstrap, group, topic, url = self.args
        store = ViewDatabase(url)
        self.subscriber = Subscriber(
            bootstrap, group, [topic], record_effect, store, **self.options
        )
        self.started_up.set()
        try:
            self.subscriber.run(self.stop, poll_timeout_ms=200)
        finally:
            self.subscriber.close()
            store.close()

    def stats(self) -> Any:
        assert self.subscriber is not None
        return self.subscriber.stats


@pytest.fixture
def effects_url(tmp_path: Path) -> str:
    """A fresh SQLite file with the test handler's `effects` table."""
    url = f"sqlite:///{tmp_path / 'consumer.db'}"
    store = ViewDatabase(url)
    _effects_table(store)
    store.close()
    return url


# -- the subscriber ------------------------------------------------------------------------


def test_same_envelope_published_twice_is_applied_once(
    kafka_bootstrap: str,
    backend_url: str,
) -> None:
    """An envelope delivered twice (a relay re-send) has its effect applied once, on SQLite and
    on PostgreSQL."""
    topic = _name("dedupe")
    create_topics(kafka_bootstrap, [topic], partitions=1)
    twice, other = _envelope(1), _envelope(2)
    _publish(kafka_bootstrap, topic, [twice.model_dump_json().encode()] * 2)
    _publish(kafka_bootstrap, topic, [other.model_dump_json().encode()])
    store = ViewDatabase(backend_url)
    _effects_table(store)
    subscriber = Subscriber(kafka_bootstrap, _name("group"), [topic], record_effect, store)
    try:
        assert subscriber.drain(WAIT_S) == 3
        with store.transaction() as cursor:
            rows = cursor.fetchall("SELECT n, COUNT(*) FROM effects GROUP BY n ORDER BY n")
    finally:
        subscriber.close()
        store.close()
    assert [tuple(row) for row in rows] == [(1, 1), (2, 1)]
    assert (subscriber.stats.applied, subscriber.stats.duplicates) == (2, 1)


CHILD = """
import sys, time
from consumers.subscriber import Subscriber
from infra.views import ViewDatabase

bootstrap, topic, group, url, stall_at = sys.argv[1:6]

def handler(message, cursor):
    cursor.execute("INSERT INTO effects (event_id, n) VALUES (?, ?)",
                   (message.event_id, message.payload["n"]))
    if message.payload["n"] == int(stall_at):
        time.sleep(600)  # killed here: this transaction and the batch's offsets never commit

store = ViewDatabase(url)
subscriber = Subscriber(bootstrap, group, [topic], handler, store,
                        consumer_settings={"session_timeout_ms": 6000,
                                           "heartbeat_interval_ms": 500})
while True:
    subscriber.poll_once(200)
"""


def test_consumer_killed_mid_batch_and_restarted_applies_each_effect_once(
    kafka_bootstrap: str,
    effects_url: str,
) -> None:
    """A consumer SIGKILLed mid-batch (effects committed, offsets not) and a restarted one
    apply every effect exactly once: the redelivered events are recognised by ID."""
    topic, group, count, stall_at = _name("kill"), _name("group"), 10, 6
    create_topics(kafka_bootstrap, [topic], partitions=1)
    _publish(
        kafka_bootstrap, topic, [_envelope(n).model_dump_json().encode() for n in range(count)]
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, kafka_bootstrap, topic, group, effects_url, str(stall_at)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(
            lambda: sum(_effect_counts(effects_url).values()) == stall_at,
            "the child to stall",
            timeout_s=CHILD_START_S,
        )
        time.sleep(0.3)  # it is now asleep inside message `stall_at`'s transaction
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        if child.stderr:
            child.stderr.close()
    assert _committed(kafka_bootstrap, group, topic) == [None]  # killed before any commit

    store = ViewDatabase(effects_url)
    restarted = Subscriber(
        kafka_bootstrap, group, [topic], record_effect, store, consumer_settings=FAST_GROUP
    )
    try:
        restarted.drain(WAIT_S)
    finally:
        restarted.close()
        store.close()
    assert _effect_counts(effects_url) == dict.fromkeys(range(count), 1)
    assert restarted.stats.duplicates == stall_at
    assert restarted.stats.applied == count - stall_at
    assert _committed(kafka_bootstrap, group, topic) == [count]


def test_malformed_message_goes_to_dead_letter_topic_and_consumer_goes_on(
    kafka_bootstrap: str,
    effects_url: str,
) -> None:
    """A message that is not an envelope, and one its handler rejects as bad data, land on the
    dead-letter topic with the reason and their origin; the next message is applied."""
    topic, dead, group = _name("malformed"), _name("dead"), _name("group")
    create_topics(kafka_bootstrap, [topic, dead], partitions=1)
    good = _envelope(3)
    _publish(
        kafka_bootstrap,
        topic,
        [
            b"{not json",
            _envelope(2, bad=True).model_dump_json().encode(),
            good.model_dump_json().encode(),
        ],
    )
    store = ViewDatabase(effects_url)
    subscriber = Subscriber(kafka_bootstrap, group, [topic], record_effect, store, dead)
    try:
        assert subscriber.drain(WAIT_S) == 3
    finally:
        subscriber.close()
        store.close()
    assert _effect_counts(effects_url) == {3: 1}
    assert subscriber.stats.dead_lettered == 2
    assert _committed(kafka_bootstrap, group, topic) == [3]

    reader = manual_commit_consumer(kafka_bootstrap, _name("reader"))
    reader.subscribe([dead])
    letters: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + WAIT_S
        while len(letters) < 2 and time.monotonic() < deadline:
            for batch in reader.poll(timeout_ms=200).values():
                letters += [orjson.loads(record.value) for record in batch]
    finally:
        reader.close()
    letters.sort(key=lambda letter: letter["offset"])
    assert [(x["source_topic"], x["partition"], x["offset"]) for x in letters] == [
        (topic, 0, 0),
        (topic, 0, 1),
    ]
    assert letters[0]["reason"].startswith("not an envelope")
    assert letters[0]["value"] == "{not json"
    assert letters[1]["reason"] == "TestFact rejected: DataError: payload marked bad"
    assert all(letter["group_id"] == group for letter in letters)


def test_commit_on_revoke_hands_processed_offsets_to_the_member_that_joins(
    kafka_bootstrap: str,
    effects_url: str,
) -> None:
    """When a second member joins, the first commits what it processed before its partitions
    are revoked, so nothing it applied is delivered again to anyone."""
    topic, group, partitions = _name("revoke"), _name("group"), 4
    create_topics(kafka_bootstrap, [topic], partitions=partitions)
    first_wave = [_envelope(n).model_dump_json().encode() for n in range(20)]
    _publish(kafka_bootstrap, topic, first_wave, partitions)
    # The first member commits only on revoke or close: its tail is all uncommitted.
    first = Member(
        kafka_bootstrap,
        group,
        topic,
        effects_url,
        commit_interval_s=3600.0,
        consumer_settings=STEADY_GROUP,
    )
    second = Member(kafka_bootstrap, group, topic, effects_url, consumer_settings=STEADY_GROUP)
    first.start()
    try:
        first.started_up.wait(WAIT_S)
        _wait_for(lambda: first.stats().applied == 20, "the first member")
        assert first.stats().commits == 0
        assert _committed(kafka_bootstrap, group, topic, partitions) == [None] * partitions

        second.start()
        second.started_up.wait(WAIT_S)
        _wait_for(lambda: first.stats().commits >= 1, "the commit on revoke")
        assert _committed(kafka_bootstrap, group, topic, partitions) == [5] * partitions

        second_wave = [_envelope(n).model_dump_json().encode() for n in range(20, 40)]
        _publish(kafka_bootstrap, topic, second_wave, partitions)
        _wait_for(lambda: sum(_effect_counts(effects_url).values()) == 40, "the second wave")
    finally:
        first.stop.set()
        second.stop.set()
        first.join(WAIT_S)
        second.join(WAIT_S)
    assert _effect_counts(effects_url) == dict.fromkeys(range(40), 1)
    assert first.stats().duplicates == second.stats().duplicates == 0
    assert second.stats().applied > 0
    assert first.stats().applied + second.stats().applied == 40


# -- the safety consumer -------------------------------------------------------------------


def test_safety_consumer_opens_a_case_for_a_positive_test_and_flags_missing_reports_after_24_h(
    kafka_bootstrap: str,
    ledger: Ledger,
    tmp_path: Path,
) -> None:
    """A positive test opens a case with the prescriber and last dispense; after 24 hours both
    reports are flagged missing, and a later pregnancy report that told only MedWatch leaves
    the REMS report flagged."""
    group = _name("safety")
    start_at_end(kafka_bootstrap, group, SAFETY_TOPICS)
    program = Program(ledger).participants().ready_frp("PAT1")
    program.fill("PAT1")
    dispensed_at = program.now
    program.advance(days=3)
    assert program.test("PAT1", result="positive")["ok"]
    tested_at = program.now

    relay, relay_db = build_relay(ledger, kafka_bootstrap)
    store = ViewDatabase(f"sqlite:///{tmp_path / 'safety.db'}")
    consumer = SafetyConsumer(kafka_bootstrap, store, group_id=group, tz=TZ)
    try:
        relay.drain()
        consumer.subscriber.drain(WAIT_S)
        with store.transaction() as cursor:
            (case,) = consumer.cases(cursor)
        assert case.kind is CaseKind.POSITIVE_TEST
        assert case.patient == relay.pseudonyms.of_patient("PAT1")  # the keyed pseudonym
        assert (case.prescriber_id, case.last_dispense_at) == ("DR1", dispensed_at)
        assert (case.event_date, case.recorded_at) == (tested_at.date(), tested_at)
        assert (case.reported_to_medwatch, case.reported_to_rems) == (False, False)

        assert consumer.flag_missing_reports(tested_at + timedelta(hours=23)) == []
        (flagged,) = consumer.flag_missing_reports(tested_at + timedelta(hours=25))
        assert flagged.follow_up_flag == "missing after 24 h: MedWatch 3500A and REMS"

        program.advance(hours=26)
        program.ok(
            "report_pregnancy",
            patient_id="PAT1",
            suspected_on=program.today,
            reported_to_medwatch=True,
            reported_to_rems=False,
        )
        relay.drain()
        consumer.subscriber.drain(WAIT_S)
        flagged_now = consumer.flag_missing_reports(program.now + timedelta(hours=1))
        assert [(c.kind, c.follow_up_flag) for c in flagged_now] == [
            (CaseKind.POSITIVE_TEST, "missing after 24 h: REMS")
        ]
        later = consumer.flag_missing_reports(program.now + timedelta(hours=25))
        assert [(c.kind, c.follow_up_flag) for c in later] == [
            (CaseKind.POSITIVE_TEST, "missing after 24 h: REMS"),
            (CaseKind.PREGNANCY_REPORTED, "missing after 24 h: REMS"),
        ]
    finally:
        consumer.close()
        store.close()
        relay.close(timeout=10)
        relay_db.close()


def test_safety_case_takes_prescriber_and_dispense_that_arrive_after_it(backend_url: str) -> None:
    """Topics interleave freely: context published before a case but consumed after it still
    fills the case, and context recorded after the case never does."""
    pseudonym = str(uuid.uuid4())
    at = datetime(2026, 3, 1, 14, tzinfo=UTC)

    def fact(version: int, kind: str, hours: int, **payload: Any) -> Envelope:
        return Envelope(
            event_id=str(uuid.uuid4()),
            type=kind,
            aggregate_id=pseudonym,
            aggregate_version=version,
            occurred_at=at + timedelta(hours=hours),
            recorded_at=at + timedelta(hours=hours),
            position=version,
            payload=payload,
        )

    safety = SafetyCases()
    store = ViewDatabase(backend_url)
    try:
        with store.transaction() as cursor:
            safety.create_tables(cursor)
            safety.handle(fact(4, "MenstrualAbnormalityRecorded", 4, noted_on="2026-03-01"), cursor)
            safety.handle(fact(5, "DispenseRecorded", 5), cursor)  # after the case: ignored
            safety.handle(fact(3, "DispenseRecorded", 3), cursor)
            safety.handle(fact(1, "PatientEnrolled", 0, prescriber_id="DR7"), cursor)
            safety.handle(fact(2, "PrescriberChanged", 1, prescriber_id="DR9"), cursor)
            (case,) = safety.cases(cursor)
    finally:
        store.close()
    assert (case.prescriber_id, case.last_dispense_at) == ("DR9", at + timedelta(hours=3))
