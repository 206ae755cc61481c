"""Kafka helpers shared by the consumer tests."""

from __future__ import annotations

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from consumers.envelope import DEAD_LETTER_TOPIC, TOPICS
from infra.kafka_clients import create_topics, manual_commit_consumer


def start_at_end(bootstrap: str, group: str, topics: tuple[str, ...]) -> None:
    """Commit the current end of `topics` for a new group, so it reads only what comes next
    (the ledger's topics are shared by every test of the session)."""
    create_topics(bootstrap, [*TOPICS.values(), DEAD_LETTER_TOPIC])
    consumer = manual_commit_consumer(bootstrap, group)
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or [])
        ]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        consumer.commit({tp: OffsetAndMetadata(ends[tp], "", -1) for tp in parts})
    finally:
        consumer.close()
