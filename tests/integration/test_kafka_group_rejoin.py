"""A consumer whose group rebalances while its poll timeout is short still gets its partitions
back (kafka-python 3.0.12 lost them: see `infra.kafka_clients.keep_rejoin_in_flight`)."""

from __future__ import annotations

import time
import uuid
import warnings

import pytest

from infra.kafka_clients import create_topics, idempotent_producer, manual_commit_consumer

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka.admin import KafkaAdminClient, NewPartitions

pytestmark = pytest.mark.kafka

WAIT_S = 30.0


def test_a_rebalance_that_outlasts_one_poll_still_assigns_the_partitions(
    kafka_bootstrap: str,
) -> None:
    """The group leader notices a topic grew, rejoins, and every poll gives up after 1 ms, long
    before JoinGroup and SyncGroup come back: the next polls finish that rejoin and the member
    reads the new partition (before the fix it stayed without partitions for good)."""
    topic, group = f"test.rejoin.{uuid.uuid4().hex[:10]}", f"test.group.{uuid.uuid4().hex[:10]}"
    create_topics(kafka_bootstrap, [topic], partitions=1)
    consumer = manual_commit_consumer(kafka_bootstrap, group)
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + WAIT_S
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
        assert {tp.partition for tp in consumer.assignment()} == {0}

        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="rems-admin")
        try:
            admin.create_partitions({topic: NewPartitions(total_count=2)})
        finally:
            admin.close()
        producer = idempotent_producer(kafka_bootstrap)
        try:
            producer.send(topic, value=b"on the new partition", partition=1).get(timeout=WAIT_S)
        finally:
            producer.close(timeout=10)

        received: list[bytes] = []
        deadline = time.monotonic() + WAIT_S
        while not received and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1).values():
                received += [record.value for record in records]
        assigned = {tp.partition for tp in consumer.assignment()}
    finally:
        consumer.close()
    assert received == [b"on the new partition"]
    assert assigned == {0, 1}
