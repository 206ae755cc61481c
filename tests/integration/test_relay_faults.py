"""Faults the relay survives on a real broker: SIGKILL mid-stream, the broker stopped and started
again while the ledger keeps taking commands, and no broker configured at all.

The first two use a broker of their own (`kafka_broker`), so every record on its topics is theirs
and duplicates can be counted exactly.
"""

from __future__ import annotations

import gc
import inspect
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from application.ledger import Ledger
from consumers.relay import Relay
from devtools.kafka_broker import KafkaBroker
from entrypoints.cli.kafka import build_relay
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.integration.test_relay import (
    assert_per_key_order,
    first_occurrences,
    ledger_events,
    published_events,
    read_messages,
)
from tests.program import Program

pytestmark = pytest.mark.kafka

BATCH_SIZE: int = (
    inspect.signature(Relay).parameters["batch_size"].default
    * inspect.signature(Relay).parameters["in_flight"].default
)
"""The relay's batch times the batches it pipelines: the most log entries it can have sent but
not yet recorded as acknowledged (`Relay.most_unrecorded`)."""
OUTAGE_S = 4.0
"""How long the broker stays down (from stop to start) in the outage test."""
CATCH_UP_S = 90.0


def rems_env(url: str, bootstrap: str | None) -> dict[str, str]:
    """The environment of a `rems` subprocess on the database, with or without a broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env["REMS_DATABASE_URL"] = url
    if bootstrap is not None:
        env["REMS_KAFKA_BOOTSTRAP"] = bootstrap
    return env


def stored_position(db_path: Path) -> int:
    """The relay's acknowledged position as stored in the ledger's SQLite file (0 before any)."""
    with closing(sqlite3.connect(db_path, timeout=10)) as connection:
        try:
            row = connection.execute(
                "SELECT position FROM relay_positions WHERE name = 'kafka'"
            ).fetchone()
        except sqlite3.OperationalError:  # the relay has not created its table yet
            return 0
    return int(row[0]) if row else 0


def wait_for_position(db_path: Path, target: int, timeout_s: float) -> float:
    """Wait until the stored position reaches `target`; return when it did (monotonic)."""
    deadline = time.monotonic() + timeout_s
    while stored_position(db_path) < target:
        assert time.monotonic() < deadline, (
            f"the relay is at {stored_position(db_path)}, not {target}, after {timeout_s:.0f} s"
        )
        time.sleep(0.05)
    return time.monotonic()


def test_relay_killed_mid_stream_and_restarted_delivers_every_event(
    tmp_path: Path,
    kafka_broker: KafkaBroker,
) -> None:
    """`rems relay` SIGKILLed after some batches and restarted with `--once`: every event ID
    arrives, and the only duplicates are of the unacknowledged tail, at most one batch."""
    db_path = tmp_path / "rems.db"
    url = f"sqlite:///{db_path}"
    ledger = make_ledger(url)
    try:
        run_demo(ledger, patients=60)
        expected = published_events(ledger)
        last = ledger_events(ledger)[-1][0]
    finally:
        ledger.close()
    assert last > 2000
    assert len(expected) > 3 * BATCH_SIZE
    env = rems_env(url, kafka_broker.bootstrap)

    with (tmp_path / "relay.log").open("wb") as log:
        relay = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "relay"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60
            while stored_position(db_path) == 0:
                assert relay.poll() is None, (tmp_path / "relay.log").read_text()
                assert time.monotonic() < deadline, "the relay acknowledged nothing in 60 s"
                time.sleep(0.005)
            time.sleep(0.1)  # into the next batch: some of it sent, maybe acknowledged, not stored
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=30)
        finally:
            if relay.poll() is None:
                relay.kill()
                relay.wait(timeout=30)
    assert relay.returncode == -signal.SIGKILL
    killed_at = stored_position(db_path)
    assert 0 < killed_at < last, (killed_at, last)

    again = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", "relay", "--once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr.decode()
    assert json.loads(again.stdout) == {"published_through": last, "log_entries": last - killed_at}

    messages = read_messages(kafka_broker.bootstrap)
    seen = Counter(m.event_id for m in messages)
    assert set(seen) == set(expected), "an event is missing, or a stranger is on the topics"
    duplicated = [m for m in messages if seen[m.event_id] > 1]
    extra_records = len(messages) - len(seen)
    logging.getLogger(__name__).info(
        "killed at position %d of %d; %d records re-sent", killed_at, last, extra_records
    )
    assert extra_records <= BATCH_SIZE
    assert all(killed_at < m.body["position"] <= killed_at + BATCH_SIZE for m in duplicated)
    kept = first_occurrences(messages)
    assert sorted(m.event_id for m in kept) == sorted(expected)
    assert_per_key_order(kept)


def collect_refused_sockets() -> None:
    """Finalize, without a warning, the sockets kafka-python 3.0 leaves unclosed after each
    refused connect (kafka/net/inet.py `connect`) while the broker is down."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


class RetryNotLogged(AssertionError):
    """The relay's own log said nothing while the broker was away."""


class FollowingRelay:
    """`rems relay`'s follow loop in a thread, on the project's relay (`build_relay`).

    The relay is built inside the thread: its position table's SQLite connection may only be used
    by the thread that opened it."""

    def __init__(self, ledger: Ledger, bootstrap: str) -> None:
        self.ledger = ledger
        self.bootstrap = bootstrap
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="relay-follow", daemon=True)

    def _run(self) -> None:
        try:
            relay, database = build_relay(self.ledger, self.bootstrap)
            try:
                relay.follow(self.stop, poll_s=0.1)
            finally:
                relay.close(timeout=10)
                database.close()
        except BaseException as error:
            self.errors.append(error)

    def __enter__(self) -> FollowingRelay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the relay did not stop"


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # see collect_refused_sockets
def test_broker_stopped_and_restarted_while_commands_arrive_loses_nothing(
    tmp_path: Path,
    kafka_broker: KafkaBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the broker stopped for a while as the ledger keeps accepting commands, the following
    relay says in its log that it is retrying, then drains the backlog once the broker is back:
    every event arrives, in per-key order."""
    # kafka-python's own records of refused connections carry exceptions whose tracebacks hold
    # the refused sockets until the session ends; this test is about the relay's log. (The last
    # set_level also sets caplog's handler level, so the relay's comes last.)
    caplog.set_level(logging.CRITICAL, logger="kafka")
    caplog.set_level(logging.INFO, logger="rems.relay")
    db_path = tmp_path / "rems.db"
    ledger = make_ledger(f"sqlite:///{db_path}")
    try:
        program = Program(ledger).participants()
        for n in range(3):
            program.ready_male(f"PT-A{n}")
        with FollowingRelay(ledger, kafka_broker.bootstrap) as follower:
            wait_for_position(db_path, ledger_events(ledger)[-1][0], CATCH_UP_S)

            stopped_at = time.monotonic()
            kafka_broker.stop()
            before = ledger_events(ledger)[-1][0]
            for n in range(10):
                program.advance(minutes=5)
                program.ready_male(f"PT-B{n}")
            assert program.authorize("PT-B0")["ok"]
            last = ledger_events(ledger)[-1][0]
            assert last > before + 20  # the ledger kept accepting commands
            time.sleep(max(0.0, stopped_at + OUTAGE_S - time.monotonic()))
            assert stored_position(db_path) == before  # nothing acknowledged while away
            kafka_broker.start()
            back_at = time.monotonic()

            caught_up_at = wait_for_position(db_path, last, CATCH_UP_S)
        assert not follower.errors, follower.errors
        expected = published_events(ledger)
    finally:
        ledger.close()
        collect_refused_sockets()
    logging.getLogger(__name__).info(
        "broker away %.1f s; backlog drained %.1f s after it was back",
        back_at - stopped_at,
        caught_up_at - back_at,
    )

    messages = read_messages(kafka_broker.bootstrap)
    collect_refused_sockets()
    assert {m.event_id for m in messages} == set(expected)
    assert_per_key_order(first_occurrences(messages))

    back_wall = time.time() - (time.monotonic() - back_at)
    retries = [
        record
        for record in caplog.records
        if record.name == "rems.relay"
        and record.levelno >= logging.WARNING
        and "retry" in record.getMessage().lower()
        and record.created < back_wall
    ]
    if not retries:
        relay_log = [r.getMessage() for r in caplog.records if r.name == "rems.relay"]
        raise RetryNotLogged(
            f"no rems.relay warning about retrying during a {back_at - stopped_at:.1f} s "
            f"outage; the relay logged only {relay_log}"
        )


def test_relay_without_a_bootstrap_address_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    """`rems relay --once` with no REMS_KAFKA_BOOTSTRAP exits 2 and says which setting is
    missing."""
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", "relay", "--once"],
        env=rems_env(f"sqlite:///{tmp_path / 'rems.db'}", None),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"REMS_KAFKA_BOOTSTRAP" in done.stderr
