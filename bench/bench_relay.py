"""Benchmark: the relay draining a simulated program to a real broker, against kafka-python's raw
producer sending the same messages in the same run.

Starts its own throwaway broker (`devtools.kafka_broker.running_kafka`), fills a SQLite ledger with
the demo program, and times `Relay.drain()` (read the notification log, decode, scrub, send,
wait for every acknowledgement, store the position, batch by batch). The baseline is
kafka-python's own producer with the relay's very settings (`infra.kafka_clients.
idempotent_producer`: idempotent, `acks=all`, the same linger, batch size and compression)
sending the very same keys and values (so the same count and sizes) to a topic of its own, then
one flush. Prints both rates and their ratio (best of the rounds, and per round: the two run
back to back), and the process CPU each used per message (the relay and the producer's sender
thread share one interpreter, so on a busy machine CPU is what the wall time follows).
Run: `.venv/bin/python -m bench.bench_relay [--patients N] [--rounds N]`. Never a timed assertion
in tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def raw_topic(topic: str, mirrored: bool) -> str:
    """The baseline's topic for a message of the relay's `topic`."""
    return f"bench.raw.{topic}" if mirrored else RAW_TOPIC


def published_messages(ledger: Ledger, pseudonyms: Pseudonyms) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, value) of every message the relay publishes for the ledger, in log order."""
    messages: list[tuple[str, bytes, bytes]] = []
    start = 1
    while rows := ledger.notifications.read(start, 1000):
        for row in rows:
            event = ledger.notifications.decode(row)
            topic = topic_for(event)
            if topic is not None:
                message = envelope(event, row.id, pseudonyms)
                value = message.model_dump_json().encode()
                messages.append((topic, message.aggregate_id.encode(), value))
        start = rows[-1].id + 1
    return messages


def time_relay(ledger: Ledger, bootstrap: str) -> tuple[int, float, float]:
    """Drain the whole log with the project's relay, from position 0; (log entries passed,
    seconds, process CPU seconds)."""
    relay, database = build_relay(ledger, bootstrap)
    try:
        relay.positions.set(0)
        began, cpu = time.perf_counter(), time.process_time()
        passed = relay.drain()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    finally:
        relay.close(timeout=10)
        database.close()
    return passed, elapsed, cpu


def time_raw_producer(
    bootstrap: str, messages: list[tuple[str, bytes, bytes]], mirrored: bool
) -> tuple[float, float]:
    """Send the messages with a producer of the relay's settings, then flush; (seconds, process
    CPU seconds). To one topic, or `mirrored`: each to a topic of its own standing for the
    relay's topic."""
    topics = sorted({raw_topic(topic, mirrored) for topic, _, _ in messages})
    create_topics(bootstrap, topics)
    producer: Any = idempotent_producer(bootstrap, topics)  # metadata before the clock starts
    try:
        began, cpu = time.perf_counter(), time.process_time()
        futures = [
            producer.send(raw_topic(topic, mirrored), key=key, value=value)
            for topic, key, value in messages
        ]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=30)
        return time.perf_counter() - began, time.process_time() - cpu
    finally:
        producer.close(timeout=10)


def main() -> None:
    """Run both on one broker, interleaved `--rounds` times, and print the best of each and the
    ratio of each round."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    relay_runs: list[tuple[float, float]] = []
    raw_runs: list[tuple[float, float]] = []
    mirrored_runs: list[tuple[float, float]] = []
    passed = 0
    with tempfile.TemporaryDirectory() as folder, running_kafka() as bootstrap:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        ledger = Ledger(Settings(database_url=url, clock=ClockMode.EVENT))
        try:
            summary = run_demo(ledger, patients=args.patients)
            messages = published_messages(ledger, Pseudonyms(b"b" * 32))
            for _ in range(args.rounds):
                passed, seconds, cpu = time_relay(ledger, bootstrap)
                relay_runs.append((seconds, cpu))
                raw_runs.append(time_raw_producer(bootstrap, messages, mirrored=False))
                mirrored_runs.append(time_raw_producer(bootstrap, messages, mirrored=True))
        finally:
            ledger.close()
    count = len(messages)
    mean_size = sum(len(k) + len(v) for _, k, v in messages) / count
    relay_s, raw_s, mirrored_s = (
        min(t for t, _ in runs) for runs in (relay_runs, raw_runs, mirrored_runs)
    )
    print(
        f"program: {summary['commands']} commands, {passed} log entries, {count} published "
        f"messages (mean key+value {mean_size:.0f} bytes); best of {args.rounds} rounds; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"relay drain:   {count / relay_s:6.0f} events/s ({passed / relay_s:.0f} log entries/s)")
    print(f"raw producer:  {count / raw_s:6.0f} messages/s (one topic)")
    print(f"raw producer:  {count / mirrored_s:6.0f} messages/s (the relay's five topics' layout)")
    print(f"ratio (relay / raw producer, one topic): {raw_s / relay_s:.2f}")
    print(f"ratio (relay / raw producer, five topics): {mirrored_s / relay_s:.2f}")
    for name, runs in (("one topic", raw_runs), ("five topics", mirrored_runs)):
        ratios = [raw[0] / relay[0] for raw, relay in zip(runs, relay_runs, strict=True)]
        print(
            f"ratio per round ({name}): "
            + " ".join(f"{r:.2f}" for r in ratios)
            + f" (median {statistics.median(ratios):.2f})"
        )
    print("runs (s): relay " + " ".join(f"{t:.2f}" for t, _ in relay_runs))
    print("          raw   " + " ".join(f"{t:.2f}" for t, _ in raw_runs))
    print("          five  " + " ".join(f"{t:.2f}" for t, _ in mirrored_runs))
    for name, runs in (("relay", relay_runs), ("raw", raw_runs), ("five", mirrored_runs)):
        cpu_us = statistics.median(c for _, c in runs) / count * 1e6
        print(f"process CPU per message, median ({name}): {cpu_us:.0f} us")


if __name__ == "__main__":
    main()
