"""`rems tokens` and `rems serve` as an operator runs them (issue 6, points 1 and 2, and "No PHI
in access logs"): real subprocesses on a SQLite file, the server reached over real HTTP with
httpx and stopped with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from tests.api_client import Http, frp_form
from tests.conftest import make_ledger

PHI = {
    "name": "Jane Q Patient",
    "address": "77 Sunset Boulevard, Springfield",
    "phone": "555-867-5309",
    "date_of_birth": "1987-06-15",
}


def rems_env(url: str) -> dict[str, str]:
    """The environment of a `rems` run: the database URL, system clock, nothing else REMS_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env["REMS_DATABASE_URL"] = url
    return env


def rems(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m entrypoints.cli.main ARGS` on the database."""
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        env=rems_env(url),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def create_token(url: str, cwd: Path, role: str, subject: str) -> dict[str, str]:
    """`rems tokens create --role R --subject S`: its printed JSON (asserting success)."""
    done = rems(url, cwd, "tokens", "create", "--role", role, "--subject", subject)
    assert done.returncode == 0, done.stdout + done.stderr
    printed: dict[str, str] = orjson.loads(done.stdout)
    return printed


@dataclass
class Store:
    """A SQLite file for `rems` runs."""

    url: str
    path: Path
    cwd: Path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty SQLite store (the CLI creates it)."""
    path = tmp_path / "rems.db"
    return Store(url=f"sqlite:///{path}", path=path, cwd=tmp_path)


def status_with(store: Store, token: str, path: str = "/v1/digest") -> int:
    """The status an in-process app over the store answers `GET path` with this token."""
    api = Http(make_ledger(store.url))
    try:
        return api.client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code
    finally:
        api.close()


def test_tokens_create_prints_a_token_that_works(store: Store) -> None:
    """`rems tokens create --role compliance --subject S1` prints the token once with its ID,
    role and subject; the token authenticates as compliance, the store keeps only its hash, and
    `rems tokens list` shows it without the token."""
    printed = create_token(store.url, store.cwd, "compliance", "S1")
    assert set(printed) == {"token_id", "role", "subject", "token"}
    assert printed["role"] == "compliance"
    assert printed["subject"] == "S1"
    assert printed["token"].startswith("rems_")
    assert status_with(store, printed["token"]) == 200
    assert status_with(store, printed["token"] + "x") == 401
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT * FROM api_tokens").fetchall()
    assert len(rows) == 1
    assert printed["token"] not in repr(rows)
    listed = rems(store.url, store.cwd, "tokens", "list")
    assert listed.returncode == 0, listed.stderr
    entries = orjson.loads(listed.stdout)
    assert [(e["token_id"], e["role"], e["subject"]) for e in entries] == [
        (printed["token_id"], "compliance", "S1")
    ]
    assert entries[0]["revoked_at"] is None
    assert printed["token"] not in listed.stdout


def test_a_token_acts_with_its_role(store: Store) -> None:
    """An auditor token made by the CLI reads but is 403 on a command."""
    token = create_token(store.url, store.cwd, "auditor", "A1")["token"]
    assert status_with(store, token, "/v1/verify") == 200
    api = Http(make_ledger(store.url))
    try:
        response = api.client.post(
            "/v1/commands/certify_prescriber",
            json={"at": api.now.isoformat(), "prescriber_id": "DR1"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 403
    finally:
        api.close()


def test_tokens_revoke_makes_it_401(store: Store) -> None:
    """`rems tokens revoke --token-id ID` prints the revoked ID; the token is then 401, it is
    listed with its revocation time, and revoking it again fails with a message."""
    printed = create_token(store.url, store.cwd, "compliance", "S1")
    other = create_token(store.url, store.cwd, "compliance", "S2")
    assert status_with(store, printed["token"]) == 200
    done = rems(store.url, store.cwd, "tokens", "revoke", "--token-id", printed["token_id"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert orjson.loads(done.stdout) == {"revoked": printed["token_id"]}
    assert status_with(store, printed["token"]) == 401
    assert status_with(store, other["token"]) == 200
    entries = {
        e["token_id"]: e for e in orjson.loads(rems(store.url, store.cwd, "tokens", "list").stdout)
    }
    assert entries[printed["token_id"]]["revoked_at"]
    assert entries[other["token_id"]]["revoked_at"] is None
    again = rems(store.url, store.cwd, "tokens", "revoke", "--token-id", printed["token_id"])
    assert again.returncode == 1
    assert printed["token_id"] in again.stdout + again.stderr
    unknown = rems(store.url, store.cwd, "tokens", "revoke", "--token-id", "tok_nope")
    assert unknown.returncode == 1


def test_tokens_create_needs_a_role_and_a_subject(store: Store) -> None:
    """Without --subject, or with an unknown role, `rems tokens create` exits non-zero and
    creates no token."""
    missing = rems(store.url, store.cwd, "tokens", "create", "--role", "compliance")
    assert missing.returncode == 2
    assert "--subject" in missing.stdout + missing.stderr
    bad_role = rems(store.url, store.cwd, "tokens", "create", "--role", "root", "--subject", "X")
    assert bad_role.returncode == 2
    listed = rems(store.url, store.cwd, "tokens", "list")
    assert orjson.loads(listed.stdout or "[]") == []


# ------------------------------------------------------------------------------ rems serve
def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_serving(
    base: str, process: subprocess.Popen[bytes], output: Callable[[], str], seconds: float
) -> None:
    """Wait until `rems serve` answers /healthz; fail with its output if it exits or is slow."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, output()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, output()
        time.sleep(0.1)


def stop_serving(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a still-running `rems serve`, killing it if it has not stopped in 15 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Server:
    """A running `rems serve`: its base URL, process and the files its output goes to."""

    base: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    tokens: dict[str, str]

    def output(self) -> str:
        """Everything it printed so far, stdout then stderr."""
        return self.stdout.read_text() + self.stderr.read_text()

    def headers(self, role: str) -> dict[str, str]:
        """The Authorization header of a role's token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def serve(url: str, cwd: Path, *args: str) -> Iterator[Server]:
    """`rems serve --port P ARGS` on the store (system clock), with a compliance token and
    DR1's prescriber token made by the CLI; stopped with SIGTERM if the test did not stop it."""
    tokens = {
        "compliance": create_token(url, cwd, "compliance", "S1")["token"],
        "prescriber": create_token(url, cwd, "prescriber", "DR1")["token"],
    }
    port = free_port()
    out, err = cwd / "serve.out", cwd / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(port), *args],
            stdout=stdout,
            stderr=stderr,
            env=rems_env(url),
            cwd=cwd,
        )
    running = Server(f"http://127.0.0.1:{port}", process, out, err, tokens)
    try:
        wait_until_serving(running.base, process, running.output, 60)
        yield running
    finally:
        stop_serving(process)


@pytest.fixture
def server(store: Store) -> Iterator[Server]:
    """`rems serve --port P` on the store (the test checks it stops on SIGTERM)."""
    yield from serve(store.url, store.cwd)


def test_serve_answers_healthz_and_commands_over_http(server: Server) -> None:
    """`rems serve` on 127.0.0.1 answers /healthz, applies POSTed commands (compliance
    registers and certifies DR1, DR1 enrolls a patient), reads history back, says 401 without
    a token, and stops cleanly on SIGTERM."""
    with httpx.Client(base_url=server.base, timeout=10) as client:
        assert client.get("/healthz").json() == {"ok": True}
        compliance, prescriber = server.headers("compliance"), server.headers("prescriber")
        register = client.post(
            "/v1/commands/register_prescriber",
            json={"prescriber_id": "DR1", "name": "Dr One", "address": "1 Way", "fax": "555"},
            headers=compliance,
        )
        assert register.status_code == 200, register.text
        assert register.json() == {"ok": True, "prescriber_id": "DR1"}
        certify = client.post(
            "/v1/commands/certify_prescriber", json={"prescriber_id": "DR1"}, headers=compliance
        )
        assert certify.json()["ok"] is True
        enroll = client.post("/v1/commands/enroll_patient", json=frp_form(), headers=prescriber)
        assert enroll.status_code == 200, enroll.text
        assert enroll.json()["risk_category"] == "adult_female_reproductive_potential"
        events = client.get("/v1/patients/PAT1/history", headers=prescriber).json()["events"]
        assert [e["type"] for e in events] == ["PatientEnrolled"]
        assert events[0]["actor"] == "prescriber:DR1"
        assert client.post("/v1/commands/record_cbc", json={}).status_code == 401
        assert client.get("/openapi.json").status_code == 200
    assert f"127.0.0.1:{server.base.rpartition(':')[2]}" in server.output()
    stop(server)


def stop(server: Server) -> None:
    """SIGTERM: the server shuts down gracefully (uvicorn then re-raises the signal, so the
    exit status is 0 or -SIGTERM)."""
    server.process.send_signal(signal.SIGTERM)
    status = server.process.wait(timeout=15)
    assert status in (0, -signal.SIGTERM), server.output()
    assert "Application shutdown complete" in server.output()
    assert "Traceback" not in server.output()


def _logged(server: Server, method: str, path: str, status: int) -> bool:
    return any(f"{method} {path} {status}" in line for line in server.output().splitlines())


def test_access_log_has_method_path_status_and_no_phi(server: Server) -> None:
    """After enrolling a patient with name, address, phone and birth date (and failing and
    forbidden requests carrying them too), the server's access log lines name the method, path
    and status of each request, and nowhere in its output is any of that PHI, the query
    string, or a token."""
    with httpx.Client(base_url=server.base, timeout=10) as client:
        compliance, prescriber = server.headers("compliance"), server.headers("prescriber")
        for command, body in (
            (
                "register_prescriber",
                {"prescriber_id": "DR1", "name": "Dr One", "address": "1 Way", "fax": "555"},
            ),
            ("certify_prescriber", {"prescriber_id": "DR1"}),
        ):
            assert client.post(f"/v1/commands/{command}", json=body, headers=compliance).is_success
        ok = client.post("/v1/commands/enroll_patient", json=frp_form(), headers=prescriber)
        assert ok.status_code == 200, ok.text
        bad = {**frp_form("PAT2"), "date_of_birth": "1987-06-15x", "nickname": PHI["name"]}
        assert (
            client.post("/v1/commands/enroll_patient", json=bad, headers=prescriber).status_code
            == 422
        )
        forbidden = {**frp_form("PAT3"), "prescriber_id": "DR9"}
        assert (
            client.post(
                "/v1/commands/enroll_patient", json=forbidden, headers=prescriber
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/v1/commands/enroll_patient", json=frp_form(), headers=compliance
            ).status_code
            == 403
        )
        assert (
            client.get(
                "/v1/patients/PAT1/history",
                params={"as_of": PHI["date_of_birth"]},
                headers=prescriber,
            ).status_code
            == 422
        )
        assert client.get("/v1/patients/PAT1/eligibility", headers=compliance).status_code == 200
    deadline = time.monotonic() + 5
    while not _logged(server, "GET", "/v1/patients/PAT1/eligibility", 200):
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    assert _logged(server, "GET", "/healthz", 200)
    assert _logged(server, "POST", "/v1/commands/register_prescriber", 200)
    assert _logged(server, "POST", "/v1/commands/enroll_patient", 200)
    assert _logged(server, "POST", "/v1/commands/enroll_patient", 422)
    assert _logged(server, "POST", "/v1/commands/enroll_patient", 403)
    assert _logged(server, "GET", "/v1/patients/PAT1/history", 422)
    output = server.output()
    access = [line for line in output.splitlines() if "rems.api" in line]
    assert len(access) >= 9, output
    for value in [*PHI.values(), "Jane", "Sunset", "867-5309", "1987"]:
        assert value not in output, f"PHI {value!r} in the server output:\n{output}"
    for token in server.tokens.values():
        assert token not in output
    assert "as_of" not in output
    stop(server)
