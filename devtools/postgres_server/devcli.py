"""The persistent dev server behind ``python -m devtools.postgres_server up|down|status``.

Its location, port and URL are recorded in ``.cache/postgres/state.json`` under the current
working directory; ``scripts/postgres`` wraps this command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools.postgres_server.addresses import port_accepts
from devtools.postgres_server.install import ensure_postgres_installed
from devtools.postgres_server.running import start_with_retries
from devtools.postgres_server.server import PostgresServer

__all__ = ["STATE_FILE", "main"]

STATE_FILE = Path(".cache") / "postgres" / "state.json"


def _read_state(state_file: Path) -> dict[str, Any] | None:
    if not state_file.is_file():
        return None
    loaded: Any = json.loads(state_file.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else None


def _write_state(state_file: Path, server: PostgresServer, *, running: bool) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "dir": str(server.base_dir),
        "port": server.port,
        "url": server.url,
        "bin_dir": str(server.bin_dir),
        "durable": server.durable,
        "running": running,
    }
    state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _server_from_state(state: dict[str, Any], bin_dir: Path) -> PostgresServer:
    return PostgresServer(
        Path(str(state["dir"])),
        int(state["port"]),
        durable=bool(state["durable"]),
        bin_dir=bin_dir,
    )


def _cmd_up(args: argparse.Namespace, state_file: Path) -> int:
    bin_dir = ensure_postgres_installed()
    state = _read_state(state_file)
    if state is not None:
        server = _server_from_state(state, bin_dir)
        if server.is_running():
            if args.port is not None and args.port != server.port:
                print(
                    f"already running on port {server.port}; run `down` first to change it",
                    file=sys.stderr,
                )
                return 1
            print(server.url)
            return 0
    base_dir = (
        args.dir.absolute() if args.dir is not None
        else Path(str(state["dir"])) if state is not None
        else Path(tempfile.mkdtemp(prefix="rems-pg-dev-", dir="/tmp"))
    )  # fmt: skip
    port = args.port
    if port is None and state is not None and not port_accepts(int(state["port"])):
        port = int(state["port"])  # keep the URL stable across down/up
    server = start_with_retries(base_dir, port, durable=not args.fast, bin_dir=bin_dir)
    _write_state(state_file, server, running=True)
    print(f"PostgreSQL running; data in {server.base_dir}, log {server.log_file}", file=sys.stderr)
    print(server.url)
    return 0


def _cmd_down(args: argparse.Namespace, state_file: Path) -> int:
    state = _read_state(state_file)
    if state is None:
        print(f"no dev server recorded in {state_file}", file=sys.stderr)
        return 0
    server = _server_from_state(state, ensure_postgres_installed())
    server.stop()
    if args.purge:
        server.remove()
        state_file.unlink()
        print(f"stopped and removed {server.base_dir}", file=sys.stderr)
    else:
        _write_state(state_file, server, running=False)
        print(f"stopped; data kept in {server.base_dir} (use --purge to delete)", file=sys.stderr)
    return 0


def _cmd_status(args: argparse.Namespace, state_file: Path) -> int:
    state = _read_state(state_file)
    if state is None:
        print("not running (no state)", file=sys.stderr)
        return 3
    server = _server_from_state(state, ensure_postgres_installed())
    if server.is_running():
        print(server.url)
        return 0
    print(f"not running (data in {server.base_dir})", file=sys.stderr)
    return 3


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``up [--port P] [--dir D] [--fast]``, ``down [--purge]``, ``status``.

    ``up`` starts a persistent dev server (idempotent), prints its URL on
    stdout and records it in ``.cache/postgres/state.json`` under the current
    directory; ``down`` stops it, keeping its data unless ``--purge``;
    ``status`` prints the URL and exits 0 when it is running, else exits 3.
    """
    parser = argparse.ArgumentParser(
        prog="python -m devtools.postgres_server",
        description="Manage the persistent dev PostgreSQL server for this checkout.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start (or reuse) the dev server and print its URL")
    up.add_argument("--port", type=int, default=None, help="loopback port (default: free one)")
    up.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="cluster directory (default: a new one under /tmp, reused later)",
    )
    up.add_argument(
        "--fast",
        action="store_true",
        help="fsync=off etc. (faster; a crash can corrupt the dev cluster)",
    )
    down = commands.add_parser("down", help="stop the dev server")
    down.add_argument("--purge", action="store_true", help="also delete its data directory")
    commands.add_parser("status", help="print the URL if the dev server is running")
    args = parser.parse_args(argv)

    state_file = Path.cwd() / STATE_FILE
    handlers = {"up": _cmd_up, "down": _cmd_down, "status": _cmd_status}
    try:
        return handlers[args.command](args, state_file)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
