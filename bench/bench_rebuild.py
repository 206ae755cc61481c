"""Benchmark goal 2 of issue 13: projection rebuild and `rems verify` against a raw scan of the
same events table, in one run, as ratios; and their peak memory.

A realistic program is applied to a fresh SQLite store (`--patients`, ~30 events a patient).
The floor is Python's own `sqlite3` reading every row of `stored_events` in rowid order, all
columns, in pages of 1,000 (nothing decoded). Rebuild (`Views.runner.rebuild()`, what
`rems projections rebuild` runs) and verify (`audit.verify.verify`, what `rems verify` runs) each
run in a child process of their own, which reports its time and its peak resident memory
(`resource.getrusage`), so one's memory never counts in the other's. Run:
`.venv/bin/python -m bench.bench_rebuild [--patients 240 ...]`. Never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson

from application.batch import apply_stream
from bench.workload import (
    event_clock_ledger,
    peak_rss_mib,
    record_program,
    scratch_folder,
    scratch_store,
    seed_numbers,
)

PAGE = 1000


def fill(url: str, patients: int, folder: Path) -> int:
    """Apply a simulated program of `patients` to the store; the events it holds."""
    program = folder / f"program-{patients}.jsonl"
    record_program(program, patients)
    seed_numbers()
    ledger = event_clock_ledger(url)
    try:
        with program.open("rb") as source:
            for _ in apply_stream(ledger, source):
                pass
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def raw_scan(path: str) -> tuple[int, float]:
    """Every row of the events table read by `sqlite3`, in pages; (rows, seconds)."""
    connection = sqlite3.connect(path)
    began = time.perf_counter()
    rows, after = 0, 0
    while True:
        page = connection.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, PAGE),
        ).fetchall()
        if not page:
            break
        rows += len(page)
        after = page[-1][0]
    elapsed = time.perf_counter() - began
    connection.close()
    return rows, elapsed


def child(what: str, url: str) -> None:
    """In a fresh process: run one rebuild or one verify and print its figures as JSON."""
    from application.views import Views
    from audit.verify import verify

    ledger = event_clock_ledger(url)
    began = time.perf_counter()
    if what == "rebuild":
        with Views(ledger) as views:
            count = views.runner.rebuild()
    else:
        report = verify(ledger, parts=None)
        assert report.ok, report.problems[:3]
        count = report.events_checked
    elapsed = time.perf_counter() - began
    ledger.close()
    figures = {"events": count, "seconds": elapsed, "peak_rss_mib": peak_rss_mib()}
    print(orjson.dumps(figures).decode())


def measured(what: str, url: str) -> dict[str, float]:
    """Run `child` in a subprocess and read its figures."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_rebuild", "--child", what, url],
        capture_output=True,
        check=True,
    )
    figures: dict[str, float] = orjson.loads(done.stdout.splitlines()[-1])
    return figures


def main() -> None:
    """Fill a store per size, then print the scan, rebuild and verify rates, ratios and RSS."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, nargs="+", default=[240])
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "URL"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--store",
        help="an existing SQLite file to measure instead (its views are rebuilt in place)",
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.store:
        report(f"sqlite:///{args.store}", None, None)
        return
    with scratch_folder() as name:
        folder = Path(name)
        for patients in args.patients:
            with scratch_store("sqlite", folder, None) as url:
                report(url, fill(url, patients, folder), patients)


def report(url: str, events: int | None, patients: int | None) -> None:
    """The scan rate of one store, then rebuild's and verify's rates, ratios and RSS."""
    rows, seconds = raw_scan(url.removeprefix("sqlite:///"))
    scan = rows / seconds
    of = f"{events} events ({patients} patients)" if patients else f"{rows} rows"
    print(f"{of}: raw sqlite3 scan {scan:,.0f} rows/s")
    for what in ("rebuild", "verify"):
        figures = measured(what, url)
        rate = figures["events"] / figures["seconds"]
        print(
            f"  {what:8} {rate:9,.0f} events/s  ratio {rate / scan:.3f}  "
            f"peak RSS {figures['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
