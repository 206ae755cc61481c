"""Body limits against a real `rems serve` (issue 10, "The HTTP edge"): a chunked body (no
Content-Length) is not read whole before the 413. The server stops reading at the limit
(64 KiB for the API, 4 KiB for the sign-in form), answers 413 and drops the connection, so the
answer arrives while the client is still sending, and the server's memory stays small."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from entrypoints.http.tokens import Role, TokenStore
from infra.views import ViewDatabase
from tests.e2e.test_api_serve import (
    Server,
    free_port,
    rems_env,
    stop_serving,
    wait_until_serving,
)

CHUNK = 64 * 1024
TOTAL = 96 * 1024 * 1024
"""What the client would send: far more than socket buffers (a few MiB) can absorb."""


@dataclass
class Streamed:
    """What a streaming client saw: the bytes of body it sent, and the server's answer."""

    sent: int
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `rems serve` for the module on a fresh SQLite file, with DR1's prescriber token;
    stopped with SIGTERM."""
    folder = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{folder / 'rems.db'}"
    database = ViewDatabase(url)
    try:
        token = TokenStore(database).create(Role.PRESCRIBER, "DR1")[1]
    finally:
        database.close()
    port = free_port()
    out, err = folder / "serve.out", folder / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(port)],
            stdout=stdout,
            stderr=stderr,
            env=rems_env(url),
            cwd=folder,
        )
    running = Server(f"http://127.0.0.1:{port}", process, out, err, {"prescriber": token})
    try:
        wait_until_serving(running.base, process, running.output, 60)
        yield running
    finally:
        stop_serving(process)
    assert "Traceback" not in running.output()


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def stream_chunked(base: str, path: str, headers: dict[str, str]) -> Streamed:
    """POST `path` with a TOTAL-byte chunked body, 64 KiB per chunk, watching for the answer
    between chunks; stop sending as soon as it arrives or the server closes."""
    port = int(base.rpartition(":")[2])
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    frame = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
    answer = b""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            while sent < TOTAL:
                if select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(frame)
                sent += CHUNK
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed: its answer is already in our receive buffer
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    status, response_headers, body = _parse(answer)
    return Streamed(sent, status, response_headers, body)


def rss_kib(pid: int) -> int:
    """The resident set size of a process, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_chunked_command_body_is_413_before_the_client_finished(server: Server) -> None:
    """A 96 MiB chunked POST to /v1/commands/record_cbc with a valid token: the server answers
    413 `too_large` and closes while the client has sent a small part of it, and its RSS grows
    by far less than the body."""
    before = rss_kib(server.process.pid)
    headers = {**server.headers("prescriber"), "Content-Type": "application/json"}
    seen = stream_chunked(server.base, "/v1/commands/record_cbc", headers)
    assert seen.status == 413, seen
    assert orjson.loads(seen.body)["error"]["code"] == "too_large"
    assert seen.headers["connection"] == "close"
    assert seen.sent < TOTAL // 4, f"sent {seen.sent} of {TOTAL} bytes before the answer"
    assert rss_kib(server.process.pid) - before < 32 * 1024


def test_a_chunked_login_form_is_413_at_4_kib(server: Server) -> None:
    """A 96 MiB chunked sign-in form without a token: 413 before the client finished, RSS
    small (it took the server from 96 MB to 491 MB when the form was read whole)."""
    before = rss_kib(server.process.pid)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    seen = stream_chunked(server.base, "/ui/login", headers)
    assert seen.status == 413, seen
    assert b"The form is too large." in seen.body
    assert seen.sent < TOTAL // 4, f"sent {seen.sent} of {TOTAL} bytes before the answer"
    assert rss_kib(server.process.pid) - before < 32 * 1024


def test_an_unauthenticated_chunked_upload_is_401_and_not_read_on(server: Server) -> None:
    """Without a token the body is never read: 401 at once, the connection closed, so the
    client stops long before it sent the whole body."""
    seen = stream_chunked(server.base, "/v1/commands/record_cbc", {"Content-Type": "a/b"})
    assert seen.status == 401, seen
    assert seen.headers["connection"] == "close"
    assert seen.sent < TOTAL // 4
