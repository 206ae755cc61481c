"""`rems serve` and the event clock (issue 10, "The HTTP edge"): under `REMS_CLOCK=event` the
server refuses to start (exit 2, saying why) unless given `--allow-event-clock`, because a
client's `at` would then set the ledger's time for every later command."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.test_api_serve import free_port, rems_env


def serve(tmp_path: Path, *flags: str) -> subprocess.Popen[str]:
    """`rems serve --port P FLAGS` under REMS_CLOCK=event on a fresh SQLite file."""
    env = rems_env(f"sqlite:///{tmp_path / 'rems.db'}") | {"REMS_CLOCK": "event"}
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(free_port()), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def test_serve_refuses_the_event_clock_without_the_flag(tmp_path: Path) -> None:
    """Under REMS_CLOCK=event, `rems serve` exits 2 without serving, and its message names the
    event clock, why it is refused and the `--allow-event-clock` flag."""
    process = serve(tmp_path)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, err
    assert "REMS_CLOCK=event" in err
    assert "--allow-event-clock" in err
    assert "every later command" in err
    assert "Uvicorn running" not in err


def test_serve_with_allow_event_clock_starts(tmp_path: Path) -> None:
    """With `--allow-event-clock` the same server starts, answers /healthz, and stops on
    SIGTERM."""
    process = serve(tmp_path, "--allow-event-clock")
    args = process.args
    assert isinstance(args, list)
    base = f"http://127.0.0.1:{args[args.index('--port') + 1]}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert process.returncode in (0, -signal.SIGTERM)
