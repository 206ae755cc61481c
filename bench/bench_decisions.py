"""Benchmark goal 1 of issue 13: the full decision path of `rems apply` against the bare
`eventsourcing` floor on the same store, in one run, as a ratio.

A realistic program (the demo's journeys, all six categories, ~30 commands a patient) is recorded
as a JSON Lines file, then applied to a fresh store exactly as `rems apply FILE` does (read,
parse, load, judge, append, receipt, print after commit). The floor is bare `eventsourcing` on
the same kind of store: create a trivial aggregate or get one and append an event, one
transaction per save. Run:
`.venv/bin/python -m bench.bench_decisions [--patients 460] [--postgres]` (460 patients is
~14,000 commands). Never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from application.batch import apply_stream
from bench.workload import (
    bare_floor,
    event_clock_ledger,
    postgres_server,
    record_program,
    scratch_folder,
    scratch_store,
    seed_numbers,
)


def time_apply(url: str, program: Path) -> tuple[int, float]:
    """Apply the program file to a fresh store as `rems apply` does; (commands, seconds)."""
    seed_numbers()
    ledger = event_clock_ledger(url)
    out = io.StringIO()
    began = time.perf_counter()
    with program.open("rb") as source:
        count = 0
        for result in apply_stream(ledger, source):
            out.write(str(result))
            count += 1
    elapsed = time.perf_counter() - began
    ledger.close()
    return count, elapsed


def main() -> None:
    """Record the program once, then time the decision path and the floor on each store."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=460)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    args = parser.parse_args()
    with scratch_folder() as name, postgres_server(args.postgres) as server:
        folder = Path(name)
        program = folder / "program.jsonl"
        summary = record_program(program, args.patients)
        print(f"program: {summary['commands']} commands, {args.patients} patients")
        for kind in ("sqlite", "postgres") if server else ("sqlite",):
            with scratch_store(kind, folder, server) as url:
                commands, seconds = time_apply(url, program)
            with scratch_store(kind, folder, server) as url:
                floor = bare_floor(url, commands, args.patients)
            rate = commands / seconds
            print(
                f"{kind:8} rems apply {rate:7.0f} commands/s | bare eventsourcing floor "
                f"{floor:7.0f} saves/s | ratio {rate / floor:.2f}"
            )


if __name__ == "__main__":
    main()
