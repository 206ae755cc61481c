"""Benchmark: how long the domain test tier takes to start, against the imports it cannot avoid.

The floor is `python -c "import pytest, hypothesis.strategies, ..."` with the domain's rules and
events (what the tier's tests import). Each command runs `--runs` times, interleaved, in a fresh
process; the figure is the least CPU time (user + system) a run took. Bytecode caches are
written (`PYTHONDONTWRITEBYTECODE` removed), as in `bench_cli_start`. `--full` also times a
whole run of the tier (mostly its two 300-example property tests).
Run: `.venv/bin/python -m bench.bench_test_start [--runs N] [--full]`. Never a timed test.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys

FLOOR = [
    sys.executable,
    "-c",
    "import pytest, hypothesis.strategies, domain.rules.authorization, domain.patient_events, "
    "domain.decision_events",
]
COLLECT = [sys.executable, "-m", "pytest", "tests/domain", "-q", "--co"]
FULL = [sys.executable, "-m", "pytest", "tests/domain", "-q"]


def least_cpu(commands: list[list[str]], runs: int) -> list[float]:
    """The least CPU time of each command over `runs` interleaved rounds (after a warm-up)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in commands:
        _run(command, env)
    best = [float("inf")] * len(commands)
    for _ in range(runs):
        for i, command in enumerate(commands):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            _run(command, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            best[i] = min(best[i], used)
    return best


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )


def main() -> None:
    """Print the tier's collection (and with `--full` its run) against the floor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    floor, collect = least_cpu([FLOOR, COLLECT], args.runs)
    print(f"floor (import pytest, hypothesis, the domain's rules and events): {floor:.3f} s CPU")
    print(f"pytest tests/domain -q --co: {collect:.3f} s CPU, {collect / floor:.2f}x the floor")
    if args.full:
        (full,) = least_cpu([FULL], max(1, args.runs // 4))
        print(f"pytest tests/domain -q: {full:.3f} s CPU")


if __name__ == "__main__":
    main()
