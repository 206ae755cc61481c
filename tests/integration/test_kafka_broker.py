"""The project's Kafka broker is a real broker: topics, acks=all produce, ordered reads, restart."""

from __future__ import annotations

import socket
import time
import uuid
import warnings

import pytest

from devtools.kafka_broker import KafkaBroker

with warnings.catch_warnings():
    # kafka-python 3.0.x calls the deprecated importlib.resources.read_text at import time.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

pytestmark = pytest.mark.kafka

READ_TIMEOUT_S = 60.0


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]
) -> list[tuple[int, int]]:
    """Send ``records`` with acks=all, wait for each ack, and return (partition, offset) pairs."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records]
        producer.flush(timeout=30)
        acked = [future.get(timeout=30) for future in futures]
    finally:
        producer.close(timeout=10)
    return [(meta.partition, meta.offset) for meta in acked]


def _read(
    bootstrap: str, topic: str, count: int, group_id: str | None
) -> list[tuple[bytes, bytes]]:
    """Read ``count`` records of ``topic`` from the start, in the order the consumer sees them."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    seen: list[tuple[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(seen) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                seen.extend((record.key, record.value) for record in batch)
    finally:
        consumer.close()
    return seen


def test_topic_produce_acks_all_and_ordered_read(kafka_bootstrap: str) -> None:
    """A new topic takes three keyed acks=all messages and a consumer group reads them in order."""
    topic = _topic("broker-smoke")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)])
        assert topic in admin.list_topics()
    finally:
        admin.close()

    records = [(b"patient-0001", f"event-{n}".encode()) for n in range(3)]
    acks = _produce(kafka_bootstrap, topic, records)

    # Same key, same partition: offsets are consecutive, so order is defined.
    assert len({partition for partition, _ in acks}) == 1
    assert [offset for _, offset in acks] == [0, 1, 2]
    assert _read(kafka_bootstrap, topic, 3, group_id=_topic("group")) == records


def test_message_survives_broker_restart_on_same_port(kafka_broker: KafkaBroker) -> None:
    """An acked message is readable after the broker restarts on the same port and data dir."""
    bootstrap = kafka_broker.bootstrap
    data_meta = (kafka_broker.data_dir / "meta.properties").read_text()
    topic = _topic("broker-restart")
    record = (b"patient-0002", b"enrolled")
    _produce(bootstrap, topic, [record])

    kafka_broker.stop()
    assert not kafka_broker.is_running()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", kafka_broker.port), 1).close()

    assert kafka_broker.start() == bootstrap
    assert (kafka_broker.data_dir / "meta.properties").read_text() == data_meta
    assert _read(bootstrap, topic, 1, group_id=None) == [record]
