"""Benchmark goal 3 of issue 13, last line: a patient's history of 1,000 events replayed (read
from the store and folded into the state a decision judges), cold: a fresh ledger, no cache.

The store keeps a snapshot every `SNAPSHOT_EVERY` events of a patient (`application.
snapshots`), so a cold read folds the latest one and the events after it; the same history on a
store without snapshots is the baseline, in the same run. Try `--events 1099` for the most
events a read folds after a snapshot. Also times `rems history` (every event of the patient,
decoded and listed). Best of five, on SQLite and (with `--postgres`) a throwaway PostgreSQL.
Run: `.venv/bin/python -m bench.bench_history [--events 1000] [--postgres]`.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from application.batch import apply_lines
from application.queries import history
from application.snapshots import SNAPSHOT_EVERY
from bench.workload import event_clock_ledger, postgres_server, scratch_folder, scratch_store
from simulation.model import TOPICS

START = datetime(2020, 1, 6, 9, tzinfo=ZoneInfo("America/New_York"))


def fill(url: str, events: int, snapshot_every: int = SNAPSHOT_EVERY) -> None:
    """DR1 certified, patient M1 enrolled and counseled, then CBCs up to `events` events."""
    at = START.isoformat()
    topics = ", ".join(f'"{t}"' for t in TOPICS)
    lines = [
        f'{{"command": "register_prescriber", "at": "{at}", "prescriber_id": "DR1", '
        '"name": "Dr One", "address": "1 Way", "fax": "555-0100"}',
        f'{{"command": "certify_prescriber", "at": "{at}", "prescriber_id": "DR1"}}',
        f'{{"command": "enroll_patient", "at": "{at}", "patient_id": "M1", '
        '"prescriber_id": "DR1", "name": "Bench Patient", "address": "3 Elm St", '
        '"phone": "555-0101", "date_of_birth": "1960-01-01", "sex": "male", '
        '"diagnosis_icd10": "C90.00", "language": "english", "patient_signed": true, '
        '"prescriber_signed": true, "all_statements_marked": true}',
        f'{{"command": "record_counseling", "at": "{at}", "patient_id": "M1", '
        f'"prescriber_id": "DR1", "topics": [{topics}]}}',
    ]
    for n in range(events - 2):
        when = (START + timedelta(hours=n + 1)).isoformat()
        lines.append(
            f'{{"command": "record_cbc", "at": "{when}", "patient_id": "M1", '
            f'"collected_at": "{when}"}}'
        )
    ledger = event_clock_ledger(url)
    ledger.snapshot_every = snapshot_every
    failed = [r for r in apply_lines(ledger, lines, group_size=500) if not r["ok"]]
    assert not failed, failed[:3]
    ledger.close()


def best_of(runs: int, url: str, what: str) -> tuple[float, int]:
    """The best time of `runs` cold reads (each on a fresh ledger, its connection opened first,
    as a serving process's is); (seconds, events)."""
    best, count = float("inf"), 0
    for _ in range(runs):
        ledger = event_clock_ledger(url)
        ledger.notifications.end()
        began = time.perf_counter()
        if what == "replay":
            state = ledger.patient_state("M1")
            assert state is not None
            count = state.version
        else:
            count = len(history(ledger, "M1")["events"])
        best = min(best, time.perf_counter() - began)
        ledger.close()
    return best, count


def main() -> None:
    """Fill a store per backend, then time the cold replay and the history query."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with scratch_folder() as name, postgres_server(args.postgres) as server:
        for kind in ("sqlite", "postgres") if server else ("sqlite",):
            with scratch_store(kind, Path(name), server) as url:
                fill(url, args.events)
                replay, events = best_of(5, url, "replay")
                listed, _ = best_of(5, url, "history")
            with scratch_store(kind, Path(name), server) as url:
                fill(url, args.events, snapshot_every=0)
                plain, _ = best_of(5, url, "replay")
            print(
                f"{kind:8} {events} events: cold replay {replay * 1000:.1f} ms from the latest "
                f"snapshot (every {SNAPSHOT_EVERY}), {plain * 1000:.1f} ms from the first event "
                f"(ratio {replay / plain:.3f}); rems history {listed * 1000:.1f} ms (best of 5)"
            )


if __name__ == "__main__":
    main()
