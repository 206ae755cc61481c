"""Benchmark: the demo workload through `Ledger.execute`, against raw appends in the same run.

Prints commands/s of the full command path (parse, load, rules, append) and the ratio to the
baseline: the same number of events appended straight to the same kind of store with no rules.
Run: `.venv/bin/python -m bench.bench_apply [--patients N]`. Never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from application.ledger import Ledger
from domain.patient_events import CbcRecorded
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo


def baseline_appends(url: str, count: int) -> float:
    """Events per second appended one per transaction, each to a fresh aggregate, no rules."""
    ledger = Ledger(Settings(database_url=url, clock=ClockMode.EVENT))
    now = datetime.now(UTC)
    began = time.perf_counter()
    for _ in range(count):
        ledger.save(
            CbcRecorded(originator_id=uuid4(), originator_version=1, timestamp=now, occurred_at=now)
        )
    elapsed = time.perf_counter() - began
    ledger.close()
    return count / elapsed


def main() -> None:
    """Run both and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=240)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        demo_url = f"sqlite:///{Path(folder) / 'demo.db'}"
        ledger = Ledger(Settings(database_url=demo_url, clock=ClockMode.EVENT))
        summary = run_demo(ledger, patients=args.patients)
        ledger.close()
        rate = float(summary["commands_per_second"])
        base = baseline_appends(f"sqlite:///{Path(folder) / 'base.db'}", int(summary["commands"]))
    print(f"full command path: {summary['commands']} commands, {rate:.0f} commands/s")
    print(f"baseline raw appends: {base:.0f} events/s")
    print(f"ratio (command path / raw append): {rate / base:.2f}")


if __name__ == "__main__":
    main()
