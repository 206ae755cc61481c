"""Throwaway and dev PostgreSQL servers for tests and local development.

The project's event store runs on PostgreSQL. This module starts a private
cluster on a loopback port so tests and developers never depend on a
machine-wide server:

* :func:`ensure_postgres_installed` finds the server binaries (installing the
  Debian ``postgresql`` package with apt-get when they are missing).
* :class:`PostgresServer` owns one cluster: ``initdb``, start, stop, remove.
* :func:`running_postgres` is the context manager tests use: it yields a URL
  such as ``postgresql://postgres@127.0.0.1:PORT/rems`` and tears the server
  down afterwards.
* ``python -m infra.postgres_server up|down|status`` manages a persistent
  dev server whose location is recorded in ``.cache/postgres/state.json``
  under the current working directory.

PostgreSQL refuses to run as root, so when this process is root every server
command runs as the ``postgres`` system user (via ``runuser``) and the
cluster directory is owned by that user. Cluster directories live under
``/tmp`` by default because the checkout may not be traversable by
``postgres``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

__all__ = [
    "DATABASE_NAME",
    "PostgresServer",
    "ensure_postgres_installed",
    "free_port",
    "main",
    "running_postgres",
]

DATABASE_NAME = "rems"
"""Database created in every cluster; the yielded URL points at it."""

SUPERUSER = "postgres"
HOST = "127.0.0.1"
SYSTEM_USER = "postgres"
"""OS account server processes run as when this process is root."""

STATE_FILE = Path(".cache") / "postgres" / "state.json"

_DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_START_TIMEOUT_S = 60
_CONNECT_TIMEOUT_S = 30.0
_LOG_TAIL_LINES = 40
# sun_path is 108 bytes on Linux; keep room for "/.s.PGSQL.NNNNN.lock".
_MAX_SOCKET_DIR_LEN = 80
_ADDRESS_IN_USE = re.compile(r"could not bind|address already in use", re.IGNORECASE)


# --------------------------------------------------------------------------- binaries


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` (numeric version)."""
    parts = re.findall(r"\d+", bin_dir.parent.name)
    return tuple(int(part) for part in parts)


def _find_bin_dir() -> Path | None:
    """Return the newest Debian bin directory with ``initdb``, else ``PATH``'s, else None."""
    candidates = [
        Path(path)
        for path in glob.glob(_DEBIAN_BIN_GLOB)
        if (Path(path) / "initdb").is_file() and (Path(path) / "pg_ctl").is_file()
    ]
    if candidates:
        return max(candidates, key=_version_key)
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).resolve().parent
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


def ensure_postgres_installed() -> Path:
    """Return the PostgreSQL server bin directory, installing the server if needed.

    Looks for ``/usr/lib/postgresql/<version>/bin/initdb`` (highest version
    wins), then for ``initdb`` on ``PATH``. If neither exists it runs
    ``apt-get update && apt-get install -y postgresql`` (through ``sudo -n``
    when not root) and looks again.

    Raises:
        RuntimeError: if the binaries are still missing after the install attempt.
    """
    found = _find_bin_dir()
    if found is not None:
        return found

    if shutil.which("apt-get") is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb) not found and apt-get is unavailable; "
            "install PostgreSQL 15+ manually"
        )
    prefix: list[str] = []
    if not _is_root():
        if shutil.which("sudo") is None:
            raise RuntimeError(
                "PostgreSQL server binaries (initdb) not found; run as root or install "
                "them with: apt-get update && apt-get install -y postgresql"
            )
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("initdb not found; installing postgresql with apt-get ...", file=sys.stderr)
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        result = subprocess.run(
            [*prefix, *command], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(command)}` failed with exit code {result.returncode}:\n"
                f"{_tail(result.stdout + result.stderr)}"
            )

    found = _find_bin_dir()
    if found is None:
        raise RuntimeError(
            "apt-get install postgresql succeeded but no initdb was found under "
            f"{_DEBIAN_BIN_GLOB} or on PATH"
        )
    return found


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _clean_env() -> dict[str, str]:
    """The current environment minus libpq/server variables that could redirect commands."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def make_url(port: int, database: str = DATABASE_NAME) -> str:
    """Return the libpq URL for ``database`` on the loopback server at ``port``."""
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"


# --------------------------------------------------------------------------- server


class PostgresServer:
    """One private PostgreSQL cluster rooted at ``base_dir``.

    Layout: ``base_dir/data`` is the cluster (PGDATA), ``base_dir/server.log``
    the server log, and ``base_dir`` itself holds the unix socket. The server
    listens on ``127.0.0.1:port`` only and trusts every local connection, so
    it must never hold real data.
    """

    def __init__(
        self,
        base_dir: Path,
        port: int,
        *,
        durable: bool = False,
        bin_dir: Path | None = None,
    ) -> None:
        """Describe a cluster; nothing is created until :meth:`init` / :meth:`start`.

        Args:
            base_dir: directory owning the cluster (absolute; created if missing).
            port: loopback TCP port the server listens on.
            durable: False turns off fsync, synchronous_commit and full_page_writes
                (fast, but a crash can corrupt the cluster: tests only).
            bin_dir: PostgreSQL bin directory; found/installed when None.
        """
        self.base_dir = base_dir.absolute()
        self.port = port
        self.durable = durable
        self.bin_dir = bin_dir if bin_dir is not None else ensure_postgres_installed()

    @property
    def data_dir(self) -> Path:
        """The cluster directory (PGDATA)."""
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        """The server log written by ``pg_ctl -l``."""
        return self.base_dir / "server.log"

    @property
    def url(self) -> str:
        """URL of the ``rems`` database on this server."""
        return make_url(self.port)

    def url_for(self, database: str) -> str:
        """URL of another database on this server."""
        return make_url(self.port, database)

    @property
    def is_initialized(self) -> bool:
        """Whether ``initdb`` has already produced a cluster in :attr:`data_dir`."""
        return (self.data_dir / "PG_VERSION").is_file()

    # ----------------------------------------------------------------- commands

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the ``postgres`` user when we are root."""
        command = [str(self.bin_dir / program), *args]
        if _is_root():
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.base_dir,
            env=_clean_env(),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed with exit code {result.returncode}:\n"
                f"{_tail(result.stdout + result.stderr)}{self._log_section()}"
            )
        return result

    def _log_section(self) -> str:
        if not self.log_file.is_file():
            return ""
        text = self.log_file.read_text(errors="replace")
        return f"\n--- tail of {self.log_file} ---\n{_tail(text)}"

    def log_tail(self) -> str:
        """The last lines of the server log ('' when there is none yet)."""
        if not self.log_file.is_file():
            return ""
        return _tail(self.log_file.read_text(errors="replace"))

    # ----------------------------------------------------------------- lifecycle

    def prepare_dir(self) -> None:
        """Create :attr:`base_dir` and hand it to the ``postgres`` user when root.

        Raises:
            RuntimeError: if the directory is unusable (socket path too long, or
                not reachable by the ``postgres`` user).
        """
        if len(str(self.base_dir)) > _MAX_SOCKET_DIR_LEN:
            raise RuntimeError(
                f"{self.base_dir} is too long for a unix socket directory "
                f"(max {_MAX_SOCKET_DIR_LEN} characters); use a shorter path under /tmp"
            )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not _is_root():
            self.base_dir.chmod(0o700)
            return
        try:
            shutil.chown(self.base_dir, user=SYSTEM_USER, group=SYSTEM_USER)
        except LookupError as error:
            raise RuntimeError(
                f"running as root but there is no {SYSTEM_USER!r} system user to run the "
                "server as (the Debian postgresql package creates it)"
            ) from error
        self.base_dir.chmod(0o700)
        probe = subprocess.run(
            [
                "runuser",
                "-u",
                SYSTEM_USER,
                "--",
                "test",
                "-w",
                str(self.base_dir),
                "-a",
                "-x",
                str(self.base_dir),
            ],
            capture_output=True,
            check=False,
        )
        if probe.returncode != 0:
            raise RuntimeError(
                f"the {SYSTEM_USER!r} user cannot reach {self.base_dir}: a parent directory "
                "is not traversable by it; use a directory under /tmp"
            )

    def init(self) -> None:
        """Run ``initdb`` (trust auth, superuser ``postgres``, UTF8) and write settings."""
        self.prepare_dir()
        args = [
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ]
        if not self.durable:
            args.append("--no-sync")
        self._run("initdb", *args)
        settings = "\n".join(
            [
                "",
                "# --- infra.postgres_server ---",
                f"listen_addresses = '{HOST}'",
                f"unix_socket_directories = '{self.base_dir}'",
                "shared_buffers = 32MB",
                "max_connections = 200",
                "dynamic_shared_memory_type = posix",
                "max_wal_size = 256MB",
                "log_min_messages = warning",
                "log_timezone = 'UTC'",
                "timezone = 'UTC'",
                "",
            ]
        )
        config = self.data_dir / "postgresql.conf"
        # Root may append: the file stays owned by postgres.
        with config.open("a", encoding="utf-8") as handle:
            handle.write(settings)

    def _server_options(self) -> str:
        """Options passed to the postmaster with ``pg_ctl -o`` (no spaces in values)."""
        options = [f"-p {self.port}"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(options)

    def is_running(self) -> bool:
        """Whether ``pg_ctl status`` reports a live server for this cluster."""
        if not self.is_initialized:
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def start(self) -> None:
        """Start the server (``initdb`` first if needed) and create database ``rems``.

        Returns once a real psycopg connection succeeds.

        Raises:
            RuntimeError: on failure, including the tail of the server log.
        """
        if not self.is_initialized:
            self.init()
        else:
            self.prepare_dir()
        self._run(
            "pg_ctl", "start",
            "-w", "-t", str(_START_TIMEOUT_S),
            "-D", str(self.data_dir),
            "-l", str(self.log_file),
            "-o", self._server_options(),
        )  # fmt: skip
        try:
            self._wait_for_connection()
            self._create_database(DATABASE_NAME)
        except BaseException:
            self.stop()
            raise

    def _wait_for_connection(self) -> None:
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url_for("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                last_error = error
                time.sleep(0.1)
        raise RuntimeError(
            f"PostgreSQL on port {self.port} did not accept connections within "
            f"{_CONNECT_TIMEOUT_S:.0f}s: {last_error}{self._log_section()}"
        )

    def _create_database(self, name: str) -> None:
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``; ``-m immediate`` if that fails).

        A server that is not running is not an error.
        """
        if not self.is_initialized:
            return
        fast = self._run(
            "pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir), check=False
        )
        if fast.returncode == 0 or not self.is_running():
            return
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data_dir))

    def remove(self) -> None:
        """Delete :attr:`base_dir` and everything in it (stop the server first)."""
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _start_with_retries(
    base_dir: Path, port: int | None, *, durable: bool, bin_dir: Path
) -> PostgresServer:
    """Start a server; with an auto-picked port, retry when another process grabbed it."""
    attempts = 1 if port is not None else 3
    for attempt in range(1, attempts + 1):
        server = PostgresServer(
            base_dir, port if port is not None else free_port(), durable=durable, bin_dir=bin_dir
        )
        try:
            server.start()
        except RuntimeError as error:
            if attempt < attempts and _ADDRESS_IN_USE.search(str(error)):
                continue
            raise
        return server
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def running_postgres(
    data_dir: Path | None = None,
    port: int | None = None,
    *,
    durable: bool = False,
) -> Iterator[str]:
    """Run a throwaway PostgreSQL server and yield the URL of its ``rems`` database.

    Args:
        data_dir: directory to hold the cluster. None (the default) makes a
            fresh temporary directory under /tmp. A directory that does not yet
            exist is created; either way a directory created here is deleted on
            exit, while a pre-existing one is kept (its server is still stopped).
        port: loopback port; None picks a free one (retrying if it is taken
            before the server binds it).
        durable: keep fsync and friends on. The default (False) is faster and
            fine for tests, but a crash can corrupt the cluster.

    Yields:
        ``postgresql://postgres@127.0.0.1:PORT/rems`` (trust auth, no password).
    """
    bin_dir = ensure_postgres_installed()
    if data_dir is None:
        base_dir = Path(tempfile.mkdtemp(prefix="rems-pg-", dir="/tmp"))
        created = True
    else:
        base_dir = data_dir.absolute()
        created = not base_dir.exists()
    try:
        server = _start_with_retries(base_dir, port, durable=durable, bin_dir=bin_dir)
        try:
            yield server.url
        finally:
            server.stop()
    finally:
        if created:
            shutil.rmtree(base_dir, ignore_errors=True)


# --------------------------------------------------------------------------- CLI


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
    if port is None and state is not None and not _port_accepts(int(state["port"])):
        port = int(state["port"])  # keep the URL stable across down/up
    server = _start_with_retries(base_dir, port, durable=not args.fast, bin_dir=bin_dir)
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
        prog="python -m infra.postgres_server",
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


if __name__ == "__main__":
    sys.exit(main())
