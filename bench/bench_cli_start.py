"""Benchmark: how long `rems` takes to start, against the libraries every run needs.

The baseline is `python -c "import pydantic, orjson, eventsourcing.application"`. Each command
runs `--runs` times in a fresh process; the figure is the least CPU time (user + system) a run
took, so a busy machine inflates it less than wall time. Prints each command's figure and its
ratio to the baseline (the target is within 1.5x for `rems --help` and `rems eligibility ID`).
Runs with bytecode caches written (`PYTHONDONTWRITEBYTECODE` removed: an installed package has
them); with the variable set and no caches, every module is compiled on every start.
Run: `.venv/bin/python -m bench.bench_cli_start [--runs N]`. Never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

BASELINE = [sys.executable, "-c", "import pydantic, orjson, eventsourcing.application"]
LOADED = [
    sys.executable,
    "-c",
    "import orjson, eventsourcing.application\n"
    "from pydantic import AwareDatetime, BaseModel, ConfigDict\n"
    "class M(BaseModel):\n    model_config = ConfigDict(frozen=True)\n    at: AwareDatetime",
]
"""`import pydantic` is lazy (it loads its model machinery on first use); this baseline also
defines one model, as any program using pydantic does."""
FULL_PATH = "rems eligibility ID (enrolled, first query at this log position: full path)"
SYSTEM_CLOCK = "rems eligibility ID (enrolled, read model caught up, system clock)"
RUNS = {
    "rems --help": ["--help"],
    "rems eligibility ID (not enrolled)": ["eligibility", "PT-NONE"],
    "rems eligibility ID (enrolled, read model caught up)": ["eligibility", "PT-00007"],
    SYSTEM_CLOCK: ["eligibility", "PT-00007"],
    FULL_PATH: ["eligibility", "PT-00007"],
    "rems schemas DIR": ["schemas", "{tmp}/schemas"],
    "rems history ID": ["history", "PT-00007"],
}
"""On a store holding a small demo program (`rems demo --patients 12`) with its read models
caught up, so a query reads and judges a real patient. The warm-up run of `eligibility` judges
the patient and remembers the answer (`application.remembered_eligibility`), so the timed runs
answer from the rows, as every query after the first at one log position does; `FULL_PATH`
forgets the remembered answers before each run, as the first query after a new event finds.
Every run is under the event clock but `SYSTEM_CLOCK`'s, whose warm-up run judges the patient at
the server's instant and remembers until when that answer stands (the next midnight at most)."""


def forget_answers(database: Path) -> None:
    """Delete the remembered eligibility answers (the next query catches up, folds, judges)."""
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM eligibility_answers")
    connection.close()


def _nothing() -> None:
    """No preparation."""


def cpu_seconds(
    command: list[str],
    env: dict[str, str],
    runs: int,
    before_each: Callable[[], None] | None = None,
) -> float:
    """The least CPU time of `runs` runs of the command, after one warm-up run (which writes
    the bytecode caches an installed package has); `before_each` runs (untimed) before every
    run."""
    best = float("inf")
    prepare = before_each or _nothing
    prepare()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(runs):
        prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, used)
    return best


def main() -> None:
    """Print each start-up figure and its ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "rems.db"
        env = {**os.environ, "REMS_DATABASE_URL": f"sqlite:///{database}"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["REMS_CLOCK"] = "event"
        for words in (["demo", "--patients", "12"], ["projections", "run"]):
            subprocess.run(
                [sys.executable, "-m", "entrypoints.cli", *words],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
        base = cpu_seconds(BASELINE, env, args.runs)
        print(f"baseline (import pydantic, orjson, eventsourcing.application): {base:.3f} s CPU")
        loaded = cpu_seconds(LOADED, env, args.runs)
        print(f"baseline with one pydantic model defined: {loaded:.3f} s CPU")
        for name, words in RUNS.items():
            command = [sys.executable, "-m", "entrypoints.cli", *(w.format(tmp=tmp) for w in words)]
            forget = partial(forget_answers, database) if name == FULL_PATH else _nothing
            clock = {**env, "REMS_CLOCK": "system"} if name == SYSTEM_CLOCK else env
            used = cpu_seconds(command, clock, args.runs, forget)
            print(
                f"{name}: {used:.3f} s CPU, {used / base:.2f}x the baseline, "
                f"{used / loaded:.2f}x the one-model baseline"
            )


if __name__ == "__main__":
    main()
