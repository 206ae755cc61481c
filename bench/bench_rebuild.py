"""Benchmark goal 2 of issue 13: projection rebuild and `rems verify` against a raw scan of the
same events table, in one run, as ratios; and their peak memory.

A realistic program is applied to a fresh SQLite store (`--patients`, ~30 events a patient).
The floor is Python's own `sqlite3` reading every row of `stored_events` in rowid order, all
columns, in pages of 1,000 (nothing decoded). Rebuild (`Views.runner.rebuild()`, what
`rems projections rebuild` runs) and verify (`audit.verify.verify`, what `rems verify` runs) each
run in a child process of their own, which reports its time and its peak resident memory
(`resource.getrusage`), so one's memory never counts in the other's. Run:
`.venv/bin/python -m bench.bench_rebuild [--patients 240 ...] [--store FILE] [--rounds N]`.
Each ratio is to the scan timed just before and after its child. Never a timed test.
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
    from audit.digest import log_end
    from audit.verify import verify
    from audit.verify_parts import parts_for

    what, _, forced = what.partition(":")
    ledger = event_clock_ledger(url)
    parts = 1
    began = time.perf_counter()
    if what == "rebuild":
        with Views(ledger) as views:
            count = views.runner.rebuild()
    else:
        parts = int(forced) if forced else parts_for(ledger, log_end(ledger))
        report = verify(ledger, parts=parts)
        assert report.ok, report.problems[:3]
        count = report.events_checked
    elapsed = time.perf_counter() - began
    ledger.close()
    figures = {"events": count, "seconds": elapsed, "peak_rss_mib": peak_rss_mib(), "parts": parts}
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
    parser.add_argument("--rounds", type=int, default=1, help="best ratio of this many runs")
    parser.add_argument(
        "--verify-parts",
        type=int,
        help="verify in this many parts (default: as many as `rems verify` would choose)",
    )
    parser.add_argument(
        "--store",
        help="an existing SQLite file to measure instead (its views are rebuilt in place)",
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    verify = "verify" if args.verify_parts is None else f"verify:{args.verify_parts}"
    if args.store:
        report(f"sqlite:///{args.store}", None, None, args.rounds, verify)
        return
    with scratch_folder() as name:
        folder = Path(name)
        for patients in args.patients:
            with scratch_store("sqlite", folder, None) as url:
                report(url, fill(url, patients, folder), patients, args.rounds, verify)


def report(
    url: str, events: int | None, patients: int | None, rounds: int = 1, verify: str = "verify"
) -> None:
    """The scan rate of one store, then rebuild's and verify's rates, ratios and RSS. The
    scan is timed just before and just after each child, and each child's ratio is to the
    mean of those two (the machine's load moves both alike); the best of `rounds`."""
    path = url.removeprefix("sqlite:///")
    rows, seconds = raw_scan(path)
    of = f"{events} events ({patients} patients)" if patients else f"{rows} rows"
    print(f"{of}: raw sqlite3 scan {rows / seconds:,.0f} rows/s")
    for what in ("rebuild", verify):
        best: tuple[float, float, dict[str, float]] | None = None
        for _ in range(rounds):
            before = _scan_rate(path)
            figures = measured(what, url)
            scan = (before + _scan_rate(path)) / 2
            rate = figures["events"] / figures["seconds"]
            if best is None or rate / scan > best[0]:
                best = (rate / scan, rate, figures)
        assert best is not None
        ratio, rate, figures = best
        parts = f"  ({figures['parts']:.0f} parts)" if what.startswith("verify") else ""
        print(
            f"  {what.partition(':')[0]:8} {rate:9,.0f} events/s  ratio {ratio:.3f}  "
            f"peak RSS {figures['peak_rss_mib']:.0f} MiB{parts}"
        )


def _scan_rate(path: str) -> float:
    rows, seconds = raw_scan(path)
    return rows / seconds


if __name__ == "__main__":
    main()
