"""The relay recovers by itself (issue 12, point 5), on a real broker of its own.

`rems relay` is paused (SIGSTOP) while a simulated program is queued, resumed, and the broker is
killed with SIGKILL while the relay is sending the backlog, then started again after 20 s (as
long as the relay waits for a batch before it drops its producer; with the producer's old 15 s
delivery timeout kafka-python reset its producer ID and the relay's one producer stopped sending
for good). The same relay process drains everything:
nothing is lost and only the unacknowledged tail arrives twice. Its log summarises the client's
connection warnings, and a relay stalled on a dead broker exits cleanly when told to stop.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from consumers.relay import ACK_TIMEOUT_S, IN_FLIGHT_BATCHES
from devtools.kafka_broker import KafkaBroker
from devtools.kafka_broker.process import signal_group
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.integration.test_relay import (
    ledger_events,
    published_events,
    read_messages,
)
from tests.integration.test_relay_faults import (
    BATCH_SIZE,
    collect_refused_sockets,
    rems_env,
    stored_position,
    wait_for_position,
)
from tests.program import Program, local

pytestmark = pytest.mark.kafka

OUTAGE_S = 20.0
CATCH_UP_S = 180.0
STOP_WITHIN_S = 30.0
MOST_LOG_LINES_PER_OUTAGE = 40
"""The relay's whole log for one 20-second outage stays short (kafka-python alone wrote ~300
lines for one before its warnings were summarised)."""


def kill_broker(broker: KafkaBroker) -> None:
    """SIGKILL the broker's process group (no clean shutdown) and reap it."""
    pid = broker.pid
    assert pid is not None, "the broker is not running"
    signal_group(pid, signal.SIGKILL)
    broker.stop(grace=30)


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # kafka-python's refused sockets
def test_relay_paused_then_broker_killed_mid_send_recovers_without_loss(
    tmp_path: Path, kafka_broker: KafkaBroker
) -> None:
    """Pause the relay, queue a program, resume, SIGKILL the broker mid-send and restart it
    after 20 s: the same relay publishes every event, re-sends at most the unacknowledged tail
    once, logs a short summary rather than every client warning, and a later stall on a dead
    broker ends cleanly on SIGTERM."""
    assert OUTAGE_S >= ACK_TIMEOUT_S  # the relay gives up on its producer during the outage
    db_path = tmp_path / "rems.db"
    url = f"sqlite:///{db_path}"
    ledger = make_ledger(url)
    log_path = tmp_path / "relay.log"
    try:
        program = Program(ledger, start=local("2024-06-03 09:00")).participants()
        program.ready_male("PT-A0")
        first = ledger_events(ledger)[-1][0]
        with log_path.open("wb") as log:
            relay = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli.main", "relay"],
                env=rems_env(url, kafka_broker.bootstrap),
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            try:
                wait_for_position(db_path, first, CATCH_UP_S)
                relay.send_signal(signal.SIGSTOP)  # paused
                run_demo(ledger, patients=60)  # queued while it is paused
                last = ledger_events(ledger)[-1][0]
                assert last > first + 4 * BATCH_SIZE
                relay.send_signal(signal.SIGCONT)  # resumed
                deadline = time.monotonic() + CATCH_UP_S
                while stored_position(db_path) <= first:
                    assert relay.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "the relay sent nothing after resuming"
                    time.sleep(0.005)
                kill_broker(kafka_broker)  # mid-send: the backlog's next batch is in flight
                killed_at = stored_position(db_path)
                assert killed_at < last
                outage_began = log_path.stat().st_size
                time.sleep(OUTAGE_S / 2)
                # A batch the broker acknowledged just before it died may be recorded just
                # after the kill was seen; nothing is recorded once the broker is gone.
                settled = stored_position(db_path)
                assert killed_at <= settled <= killed_at + IN_FLIGHT_BATCHES * BATCH_SIZE
                killed_at = settled
                time.sleep(OUTAGE_S / 2)
                assert relay.poll() is None, "the relay gave up: " + log_path.read_text()
                assert stored_position(db_path) == killed_at
                kafka_broker.start()
                outage_log = log_path.read_bytes()[outage_began:].decode(errors="replace")
                wait_for_position(db_path, last, CATCH_UP_S)
                expected = published_events(ledger)

                kill_broker(kafka_broker)  # a stall: the relay retries against a dead broker
                program.at("2026-12-01 09:00").ready_male("PT-Z0")
                time.sleep(4.0)
                stalled_at = time.monotonic()
                relay.send_signal(signal.SIGTERM)
                code = relay.wait(timeout=STOP_WITHIN_S)
                stopped_in = time.monotonic() - stalled_at
            finally:
                if relay.poll() is None:
                    relay.kill()
                    relay.wait(timeout=30)
    finally:
        ledger.close()
        collect_refused_sockets()
    relay_log = log_path.read_text(errors="replace")
    assert code == 0, relay_log[-3000:]
    assert stopped_in < STOP_WITHIN_S
    assert "Traceback" not in relay_log

    kafka_broker.start()
    messages = read_messages(kafka_broker.bootstrap)
    collect_refused_sockets()
    seen = Counter(m.event_id for m in messages)
    assert set(expected) <= set(seen), "an event is missing"
    assert max(seen.values()) <= 2, "an event was sent more than twice"
    resent = [m for m in messages if seen[m.event_id] > 1]
    assert all(killed_at < m.body["position"] <= killed_at + BATCH_SIZE for m in resent)

    outage_lines = outage_log.splitlines()
    assert any("retry" in line.lower() for line in outage_lines), outage_log
    assert len(outage_lines) <= MOST_LOG_LINES_PER_OUTAGE, "\n".join(outage_lines[:60])
    print(json.dumps({"killed_at": killed_at, "last": last, "resent": len(resent)}))
