"""What the benches share: a realistic program as a `rems apply` file, scratch stores on SQLite
and PostgreSQL, and the bare floors they are measured against.

Authorization and confirmation numbers are random (CSPRNG), and the simulated journeys put the
numbers they were given into their later commands; to re-apply a recorded program to a fresh
store the benches draw the numbers from a seeded generator instead, the same sequence in the
recording run and in the measured run, so every line means what it meant when it was recorded.
"""

from __future__ import annotations

import contextlib
import random
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

import application.numbers
from application.ledger import Ledger
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo


class _SeededBits:
    """`secrets.randbits` from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def randbits(self, k: int) -> int:
        """k random bits."""
        return self._random.getrandbits(k)


def seed_numbers(seed: int = 1) -> None:
    """Draw authorization and confirmation numbers from a seeded generator (benches only)."""
    application.numbers.secrets = _SeededBits(seed)  # type: ignore[attr-defined,assignment]  # a seeded stand-in for the module


def event_clock_ledger(url: str) -> Ledger:
    """A ledger under the event clock on the given store."""
    return Ledger(Settings(database_url=url, clock=ClockMode.EVENT))


def record_program(path: Path, patients: int, seed: int = 7) -> dict[str, Any]:
    """Simulate a program of `patients` on an in-memory store (the recording is not measured,
    and a file would pay one fsync a command) and write its commands to `path`."""
    seed_numbers()
    ledger = event_clock_ledger("sqlite:///:memory:")
    try:
        with path.open("wb") as out:
            return run_demo(ledger, patients=patients, seed=seed, commands_out=out)
    finally:
        ledger.close()


class Counter(Aggregate):
    """The bare floor's aggregate: one integer, one event type."""

    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        """Count one more."""
        self.count += 1


def bare_floor(url: str, saves: int, aggregates: int) -> float:
    """Saves per second of bare `eventsourcing` on the same store: each save creates a trivial
    aggregate, or gets one back from the store and appends one event to it; one transaction per
    save, no cache, the library's default JSON transcoder."""
    env = {
        k: v
        for k, v in Settings(database_url=url).event_store_env().items()
        if k not in ("MAPPER_TOPIC", "TRANSCODER_TOPIC")
    }
    app: Application[uuid.UUID] = Application(env=env)
    ids: list[uuid.UUID] = []
    began = time.perf_counter()
    for n in range(saves):
        if len(ids) < aggregates and n % 2 == 0:
            counter = Counter()
            ids.append(counter.id)
        else:
            counter = app.repository.get(ids[n % len(ids)])
            counter.increment()
        app.save(counter)
    elapsed = time.perf_counter() - began
    app.close()
    return saves / elapsed


@contextlib.contextmanager
def scratch_store(kind: str, folder: Path, server_url: str | None) -> Iterator[str]:
    """A fresh empty store: a new SQLite file, or a new database on the PostgreSQL server."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
        return
    assert server_url is not None
    name = f"bench_{uuid.uuid4().hex}"
    admin = urlsplit(server_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres_server(wanted: bool) -> Iterator[str | None]:
    """A throwaway PostgreSQL server when wanted (devtools), else None."""
    if not wanted:
        yield None
        return
    from devtools.postgres_server import running_postgres

    with running_postgres() as url:
        yield url


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder under /tmp for a bench's files."""
    return tempfile.TemporaryDirectory(prefix="rems-bench-")


def peak_rss_mib() -> float:
    """This process's peak resident set size, in MiB. On Linux, `VmHWM` of the process's own
    address space: `ru_maxrss` survives `execve`, so a child started by a bench that holds a
    large program in memory would report the parent's size (the 10^5 figures before issue 13's
    second pass were the parent's)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
