"""Benchmark: the relay draining a simulated program to a real broker, against kafka-python's raw
producer sending the same messages in the same run.

Starts its own throwaway broker (`devtools.kafka_broker.running_kafka`), fills a SQLite ledger with
the demo program, and times `Relay.drain()` (read the notification log, decode, scrub, send,
wait for every acknowledgement, store the position, batch by batch). The baseline is
kafka-python's own producer with the relay's very settings (`infra.kafka_clients.
idempotent_producer`: idempotent, `acks=all`, the same linger, batch size and compression)
sending the very same keys and values (so the same count and sizes) to a topic of its own, then
one flush. Prints both rates and their ratio.
Run: `.venv/bin/python -m bench.bench_relay [--patients N]`. Never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from application.ledger import Ledger
from consumers.envelope import envelope, topic_for
from consumers.pseudonyms import Pseudonyms
from devtools.kafka_broker import running_kafka
from entrypoints.cli.kafka import build_relay
from infra.kafka_clients import create_topics, idempotent_producer
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo

RAW_TOPIC = "bench.raw-producer"


def published_messages(ledger: Ledger, pseudonyms: Pseudonyms) -> list[tuple[bytes, bytes]]:
    """(key, value) of every message the relay publishes for the ledger, in log order."""
    messages: list[tuple[bytes, bytes]] = []
    start = 1
    while rows := ledger.notifications.read(start, 1000):
        for row in rows:
            event = ledger.notifications.decode(row)
            if topic_for(event) is not None:
                message = envelope(event, row.id, pseudonyms)
                messages.append((message.aggregate_id.encode(), message.model_dump_json().encode()))
        start = rows[-1].id + 1
    return messages


def time_relay(ledger: Ledger, bootstrap: str) -> tuple[int, float]:
    """Drain the whole log with the project's relay; (log entries passed, seconds)."""
    relay, database = build_relay(ledger, bootstrap)
    try:
        began = time.perf_counter()
        passed = relay.drain()
        elapsed = time.perf_counter() - began
    finally:
        relay.close(timeout=10)
        database.close()
    return passed, elapsed


def time_raw_producer(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Send the messages with a producer of the relay's settings, then flush; seconds."""
    create_topics(bootstrap, [RAW_TOPIC])
    producer: Any = idempotent_producer(bootstrap)
    try:
        producer.partitions_for(RAW_TOPIC)  # metadata fetched before the clock starts
        began = time.perf_counter()
        futures = [producer.send(RAW_TOPIC, key=key, value=value) for key, value in messages]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=30)
        return time.perf_counter() - began
    finally:
        producer.close(timeout=10)


def main() -> None:
    """Run both on one broker and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=240)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, running_kafka() as bootstrap:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        ledger = Ledger(Settings(database_url=url, clock=ClockMode.EVENT))
        try:
            summary = run_demo(ledger, patients=args.patients)
            messages = published_messages(ledger, Pseudonyms(b"b" * 32))
            passed, relay_s = time_relay(ledger, bootstrap)
        finally:
            ledger.close()
        raw_s = time_raw_producer(bootstrap, messages)
    count = len(messages)
    mean_size = sum(len(k) + len(v) for k, v in messages) / count
    relay_rate = count / relay_s
    raw_rate = count / raw_s
    print(
        f"program: {summary['commands']} commands, {passed} log entries, {count} published "
        f"messages (mean key+value {mean_size:.0f} bytes)"
    )
    print(
        f"relay drain:        {count} events in {relay_s:.2f} s = {relay_rate:.0f} events/s "
        f"({passed / relay_s:.0f} log entries/s)"
    )
    print(f"raw producer:       {count} messages in {raw_s:.2f} s = {raw_rate:.0f} messages/s")
    print(f"ratio (relay / raw producer): {relay_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
