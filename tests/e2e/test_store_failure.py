"""The command line when the event store cannot be reached."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_apply_exits_3_with_a_clear_message_when_the_store_is_unreachable(tmp_path: Path) -> None:
    """`rems apply` against a PostgreSQL that does not answer exits 3 and says the event store
    failed, with no traceback."""
    commands = tmp_path / "commands.jsonl"
    commands.write_text('{"command": "certify_prescriber", "prescriber_id": "DR1"}\n')
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/rems?connect_timeout=1"
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", "apply", str(commands)],
        env={**os.environ, "REMS_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "event store" in done.stderr
    assert "Traceback" not in done.stderr
