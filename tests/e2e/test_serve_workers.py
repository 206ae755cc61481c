"""`rems serve --workers N` as an operator runs it (issue 13, goal 3): N server processes on one
port, each with its own connections to the store, reached over real HTTP; on a SQLite file and
on a fresh PostgreSQL database (whose tables and functions the parent makes before any worker
starts, so the workers find them made)."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import frp_form
from tests.e2e.test_api_serve import Server, rems, serve

WORKERS = 2


@pytest.fixture(params=["sqlite", "postgres"])
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """`rems serve --workers 2` on an empty SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rems.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield from serve(url, tmp_path, "--workers", str(WORKERS))


def started_workers(server: Server) -> set[str]:
    """The process IDs of the workers that finished starting (uvicorn prints each)."""
    lines = server.output().splitlines()
    pids = set()
    for index, line in enumerate(lines):
        found = re.search(r"Started server process \[(\d+)\]", line)
        if found and any("Application startup complete" in later for later in lines[index:]):
            pids.add(found.group(1))
    return pids


def wait_for_workers(server: Server) -> set[str]:
    """The started workers' process IDs, once all `WORKERS` have started (/healthz answers once
    the first is up)."""
    deadline = time.monotonic() + 60
    while len(started := started_workers(server)) < WORKERS:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)
    return started


def test_every_worker_starts_and_commands_over_fresh_connections_build_one_ledger(
    workers: Server,
) -> None:
    """Both workers start on a store none of them created; commands sent each over a new
    connection (so either worker may take it) build one ledger: DR1 registered, certified,
    then 6 patients enrolled under it, each read back; every worker stops on SIGTERM."""
    wait_for_workers(workers)
    compliance, prescriber = workers.headers("compliance"), workers.headers("prescriber")

    def post(command: str, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
        with httpx.Client(base_url=workers.base, timeout=30) as client:  # a new connection
            return client.post(f"/v1/commands/{command}", json=body, headers=headers)

    registered = post(
        "register_prescriber",
        {"prescriber_id": "DR1", "name": "Dr One", "address": "1 Way", "fax": "555"},
        compliance,
    )
    assert registered.status_code == 200, registered.text
    certified = post("certify_prescriber", {"prescriber_id": "DR1"}, compliance)
    assert certified.json()["ok"] is True, certified.text
    patients = [f"PAT{n}" for n in range(1, 7)]
    for patient in patients:
        enrolled = post("enroll_patient", frp_form(patient), prescriber)
        assert enrolled.status_code == 200, enrolled.text
    for patient in patients:
        with httpx.Client(base_url=workers.base, timeout=30) as client:
            history = client.get(f"/v1/patients/{patient}/history", headers=prescriber)
        assert [e["type"] for e in history.json()["events"]] == ["PatientEnrolled"]
    again = post("enroll_patient", frp_form("PAT1"), prescriber)
    assert again.json()["error"]["code"] != "conflict", again.text
    assert again.json()["ok"] is False
    workers.process.send_signal(signal.SIGTERM)
    assert workers.process.wait(timeout=30) in (0, -signal.SIGTERM), workers.output()
    assert workers.output().count("Application shutdown complete") == WORKERS
    assert "Traceback" not in workers.output()


def test_workers_refuse_an_in_memory_store(tmp_path: Path) -> None:
    """An in-memory store would be a different, empty ledger in each worker: refused (exit 2,
    saying why) before anything listens."""
    done = rems("sqlite:///:memory:", tmp_path, "serve", "--workers", "2", "--port", "1")
    assert done.returncode == 2
    assert "--workers" in done.stderr
    assert ":memory:" in done.stderr


@pytest.mark.parametrize("count", ["0", "65", "two", "-1"])
def test_a_worker_count_out_of_bounds_is_refused_naming_the_option(
    tmp_path: Path, count: str
) -> None:
    """`--workers` takes a whole number from 1 to 64; anything else exits 2 naming it."""
    done = rems(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, "serve", "--workers", count)
    assert done.returncode == 2
    assert "--workers" in done.stderr
    assert "1 to 64" in done.stderr


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(tmp_path: Path) -> None:
    """A worker killed outright (SIGKILL: no shutdown of its own) is replaced by a new one; the
    port answers throughout and the command sent after it applies."""
    for server in serve(f"sqlite:///{tmp_path / 'rems.db'}", tmp_path, "--workers", "2"):
        deadline = time.monotonic() + 60
        first = wait_for_workers(server)
        victim = int(sorted(first)[0])
        os.kill(victim, signal.SIGKILL)
        while not (started_workers(server) - first):
            assert time.monotonic() < deadline, server.output()
            assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
            time.sleep(0.1)
        with httpx.Client(base_url=server.base, timeout=30) as client:
            registered = client.post(
                "/v1/commands/register_prescriber",
                json={"prescriber_id": "DR1", "name": "Dr One", "address": "1 Way", "fax": "555"},
                headers=server.headers("compliance"),
            )
        assert registered.json() == {"ok": True, "prescriber_id": "DR1"}, registered.text
        assert server.process.poll() is None
