"""Benchmark: what encryption at rest costs, as ratios against the same run without it.

In one run, on two fresh SQLite stores (one with `REMS_ENCRYPTION_KEY_FILE`, one without), the
demo program is applied through the command path of `rems apply` (`Ledger.execute`), then the
read models are rebuilt from position 0 (`rems projections rebuild`). Prints each time and the
ratio encrypted / plain (1.00 = free). Alternates the order per round so neither store always
runs on a warmer machine. Run: `.venv/bin/python -m bench.bench_encryption [--patients N]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from application.ledger import Ledger
from application.views import Views
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo


def one_store(folder: Path, key_file: Path | None, patients: int) -> tuple[float, float, int]:
    """(seconds to apply the demo, seconds to rebuild the read models, log entries)."""
    settings = Settings(
        database_url=f"sqlite:///{folder / 'rems.db'}",
        clock=ClockMode.EVENT,
        encryption_key_file=key_file,
    )
    ledger = Ledger(settings)
    try:
        began = time.perf_counter()
        run_demo(ledger, patients=patients)
        applied = time.perf_counter() - began
        with Views(ledger) as views:
            began = time.perf_counter()
            views.runner.rebuild()
            rebuilt = time.perf_counter() - began
        entries = ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()
    return applied, rebuilt, entries


def main() -> None:
    """Run both stores `--rounds` times, alternating, and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    totals = {"plain": [0.0, 0.0], "encrypted": [0.0, 0.0]}
    entries = 0
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "encryption.key"
        create_encryption_key_file(key_file)
        for round_number in range(args.rounds):
            order = ["plain", "encrypted"] if round_number % 2 == 0 else ["encrypted", "plain"]
            for kind in order:
                store = Path(folder) / f"{kind}-{round_number}"
                store.mkdir()
                key = key_file if kind == "encrypted" else None
                applied, rebuilt, entries = one_store(store, key, args.patients)
                totals[kind][0] += applied
                totals[kind][1] += rebuilt
    plain, sealed = totals["plain"], totals["encrypted"]
    print(f"program: {args.patients} patients, {entries} log entries, {args.rounds} rounds each")
    print(f"rems apply path: plain {plain[0]:.2f} s, encrypted {sealed[0]:.2f} s")
    print(f"projections rebuild: plain {plain[1]:.2f} s, encrypted {sealed[1]:.2f} s")
    print(f"ratio apply (encrypted / plain): {sealed[0] / plain[0]:.2f}")
    print(f"ratio rebuild (encrypted / plain): {sealed[1] / plain[1]:.2f}")


if __name__ == "__main__":
    main()
