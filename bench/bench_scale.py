"""Benchmark goal 4 of issue 13: a program of N events (all six categories, years of 28-day
cycles), and the time of apply, rebuild, verify, a patient's history, the due list and an
export, each with its projected figure for 10^8 events and why it scales that way.

The program is simulated once per size (the journeys react to each result, so recording is a
full run of the ledger) and cached as JSON Lines under `--cache` (default
/tmp/rems-bench-cache); the measured apply is `rems apply`'s own path on a fresh SQLite store.
Rebuild and verify run in child processes that report their peak RSS. Run:
`.venv/bin/python -m bench.bench_scale [--events 100000] [--years 3]`. Never a timed test.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from application.batch import apply_stream
from application.queries import history
from application.views import Views
from audit.record import build_record
from bench.bench_rebuild import measured, raw_scan
from bench.workload import event_clock_ledger, scratch_folder, scratch_store, seed_numbers
from simulation.demo import TWISTS
from simulation.journeys import patient_journey
from simulation.model import PROFILES, Journey, Simulation, run_journeys

NATIONAL_EVENTS = 10**8
NATIONAL_PATIENTS = 10**5
NATIONAL_YEARS = 10
EVENTS_PER_CYCLE = 6.5
"""Roughly: test, survey, authorization and its claim, confirmation and its claim, dispense."""


def journeys(sim: Simulation, patients: int, cycles: int) -> list[Journey]:
    """The setup, then patients of the six categories in turn, a few with a mishap."""
    categories = list(PROFILES)
    rng = random.Random(11)
    found: list[Journey] = [sim.setup()]
    for index in range(patients):
        twist = rng.choice(TWISTS) if rng.random() < 0.08 else "none"
        found.append(
            patient_journey(
                sim,
                f"PT-{index + 1:06d}",
                categories[index % len(categories)],
                twist,
                cycles=cycles,
                horizon_days=28 * cycles + 30,
            )
        )
    return found


def program_file(cache: Path, events: int, years: int) -> tuple[Path, int]:
    """The cached program of about `events` events over `years`; (file, patients)."""
    cycles = years * 13
    patients = max(6, round(events / (EVENTS_PER_CYCLE * cycles + 6)))
    path = cache / f"program-{events}-{years}y.jsonl"
    if path.exists():
        return path, patients
    cache.mkdir(parents=True, exist_ok=True)
    seed_numbers()
    partial = path.with_suffix(".partial")
    # Recorded in memory: the recording is not what is measured, and a file store would pay
    # one fsync per command.
    ledger = event_clock_ledger("sqlite:///:memory:")
    sim = Simulation(date(2020, 1, 6), ledger.settings.timezone, seed=7, prescribers=40)
    with partial.open("wb") as out:

        def execute(at: datetime, command: dict[str, Any]) -> dict[str, Any]:
            line = orjson.dumps({**command, "at": at.isoformat()})
            out.write(line + b"\n")
            return ledger.execute(line)

        for _ in run_journeys(journeys(sim, patients, cycles), execute):
            pass
    ledger.close()
    partial.rename(path)
    return path, patients


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    """(result, seconds) of one call."""
    began = time.perf_counter()
    result = run()
    return result, time.perf_counter() - began


def main() -> None:
    """Record (or reuse) the program, apply it, and print each figure with its projection."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rems-bench-cache"))
    args = parser.parse_args()
    program, patients = program_file(args.cache, args.events, args.years)
    lines = sum(1 for _ in program.open("rb"))
    with scratch_folder() as name:
        folder = Path(name)
        with scratch_store("sqlite", folder, None) as url:
            seed_numbers()
            ledger = event_clock_ledger(url)
            with program.open("rb") as source:
                outcomes, apply_s = timed(lambda: [r["ok"] for r in apply_stream(ledger, source)])
            events = ledger.recorder.max_notification_id() or 0
            longest = max(
                (f"PT-{i + 1:06d}" for i in range(patients)),
                key=lambda p: len(history(ledger, p)["events"]) if ledger.patient_state(p) else 0,
            )
            answer, history_s = timed(lambda: history(ledger, longest))
            own = len(answer["events"])
            rebuild = measured("rebuild", url)
            verify = measured("verify", url)
            with Views(ledger) as views:
                views.runner.catch_up()
                due, due_s = timed(lambda: views.due(ledger.last_recorded_at or datetime.now(UTC)))
            _, first_export_s = timed(lambda: build_record(ledger, longest))
            _, export_s = timed(lambda: build_record(ledger, longest))
            ledger.close()
            scan_rows, scan_s = raw_scan(url.removeprefix("sqlite:///"))
    factor = NATIONAL_EVENTS / events
    print(
        f"program: {lines} commands ({sum(outcomes)} ok), {events} events, {patients} patients, "
        f"{args.years} years; raw scan {scan_rows / scan_s:,.0f} rows/s"
    )
    history_factor = NATIONAL_YEARS / args.years
    rows = [
        ("apply", apply_s, factor, "linear: one decision per line, reads O(1) cached states"),
        ("rebuild", rebuild["seconds"], factor, "linear: one pass, batches of 10,000 events"),
        ("verify", verify["seconds"], factor, "linear: one pass over the log"),
        (
            f"history ({own} events)",
            history_s,
            history_factor,
            "the patient's own events only: grows with years, not with the ledger",
        ),
        (
            f"due list ({len(due['patients'])} due)",
            due_s,
            NATIONAL_PATIENTS / patients,
            "every patient row once: linear in patients",
        ),
        (
            "first export (tree catch-up)",
            first_export_s,
            factor,
            "once: the log tree cache takes in the whole log (then only what is new)",
        ),
        (
            "export (one patient)",
            export_s,
            factor,
            "the record's aggregates re-read; the digest reads every head: O(aggregates)",
        ),
    ]
    print(f"{'step':32} {'measured':>12} {'projected at 10^8 events':>26}  why")
    for step, seconds, scale, why in rows:
        print(f"{step:32} {seconds:10.2f} s {_human(seconds * scale):>26}  {why}")
    print(
        f"peak RSS: rebuild {rebuild['peak_rss_mib']:.0f} MiB, verify "
        f"{verify['peak_rss_mib']:.0f} MiB at {events} events"
    )


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


if __name__ == "__main__":
    main()
