"""The persistent dev broker behind ``python -m devtools.kafka_broker up|down|status``.

Its state (pid, ports, bootstrap address, work directory) lives in ``.cache/kafka/state.json``
under the current directory, and the broker's own files in ``.cache/kafka/broker/``;
``scripts/kafka`` wraps this command line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools.kafka_broker.errors import KafkaBrokerError
from devtools.kafka_broker.process import STOP_GRACE_S, KafkaBroker, signal_group

__all__ = ["main"]

_STATE_DIR = Path(".cache") / "kafka"


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _state_path() -> Path:
    return _STATE_DIR / "state.json"


def _read_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_path().read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state


def _is_our_broker(pid: int, workdir: str) -> bool:
    """Whether ``pid`` is alive and is a ``kafka.Kafka`` JVM using ``workdir``'s config."""
    if not _pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc to check against: trust the state file
    args = [part.decode(errors="replace") for part in cmdline]
    return "kafka.Kafka" in args and str(Path(workdir) / "server.properties") in args


def _stop_pid(pid: int, grace: float = STOP_GRACE_S) -> None:
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _pid_alive(pid):
        signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    if _pid_alive(pid):
        raise KafkaBrokerError(f"Kafka broker pid {pid} survived SIGKILL")


def _cmd_up(args: argparse.Namespace) -> int:
    state = _read_state()
    if state is not None and _is_our_broker(int(state["pid"]), str(state["dir"])):
        print(f"kafka: already running (pid {state['pid']})", file=sys.stderr)
        print(state["bootstrap"])
        return 0
    _state_path().unlink(missing_ok=True)
    workdir = (_STATE_DIR / "broker").resolve()
    broker = KafkaBroker(workdir, port=args.port, heap=args.heap)
    started = time.monotonic()
    broker.start()
    pid = broker.detach()
    state = {
        "pid": pid,
        "port": broker.port,
        "controller_port": broker.controller_port,
        "bootstrap": broker.bootstrap,
        "dir": str(workdir),
    }
    _state_path().parent.mkdir(parents=True, exist_ok=True)
    _state_path().write_text(json.dumps(state, indent=2) + "\n")
    print(
        f"kafka: started pid {pid} in {time.monotonic() - started:.1f}s; logs in {broker.log_dir}",
        file=sys.stderr,
    )
    print(broker.bootstrap)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    state = _read_state()
    if state is None:
        print("kafka: not running (no state file)", file=sys.stderr)
    else:
        pid = int(state["pid"])
        if _is_our_broker(pid, str(state["dir"])):
            _stop_pid(pid)
            print(f"kafka: stopped pid {pid}", file=sys.stderr)
        else:
            print(f"kafka: pid {pid} is no longer running; clearing state", file=sys.stderr)
        _state_path().unlink(missing_ok=True)
    if args.purge:
        shutil.rmtree(_STATE_DIR / "broker", ignore_errors=True)
        print(f"kafka: removed {_STATE_DIR / 'broker'}", file=sys.stderr)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    state = _read_state()
    if state is not None and _is_our_broker(int(state["pid"]), str(state["dir"])):
        print(state["bootstrap"])
        return 0
    print("kafka: not running", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``up`` starts the persistent dev broker and prints its bootstrap address,
    ``down`` stops it (``--purge`` also deletes its data), ``status`` prints the address or
    exits 1. State is kept in ``.cache/kafka/`` under the current directory.
    """
    parser = argparse.ArgumentParser(
        prog="python -m devtools.kafka_broker",
        description="Single-node Kafka (KRaft) broker on 127.0.0.1 for development.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the dev broker (no-op if running); print bootstrap")
    up.add_argument("--port", type=int, default=None, help="broker port (default: a free one)")
    up.add_argument("--heap", default="512m", help="JVM heap, e.g. 256m or 1g (default 512m)")
    up.set_defaults(func=_cmd_up)
    down = sub.add_parser("down", help="stop the dev broker")
    down.add_argument("--purge", action="store_true", help="also delete the broker's data")
    down.set_defaults(func=_cmd_down)
    status = sub.add_parser("status", help="print the bootstrap address; exit 1 if not running")
    status.set_defaults(func=_cmd_status)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except KafkaBrokerError as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 1
    return result
