"""One private PostgreSQL cluster on a loopback port: ``initdb``, start, stop, remove.

The cluster trusts every local connection, so it must never hold real data. When this process
is root every server command runs as the ``postgres`` system user (via ``runuser``) and the
cluster directory is owned by that user.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from devtools.postgres_server.addresses import DATABASE_NAME, HOST, SUPERUSER, make_url
from devtools.postgres_server.install import ensure_postgres_installed
from devtools.postgres_server.system import SYSTEM_USER, clean_env, is_root, tail

__all__ = ["PostgresServer"]

_START_TIMEOUT_S = 60
_CONNECT_TIMEOUT_S = 30.0
# sun_path is 108 bytes on Linux; keep room for "/.s.PGSQL.NNNNN.lock".
_MAX_SOCKET_DIR_LEN = 80


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
        if is_root():
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.base_dir,
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed with exit code {result.returncode}:\n"
                f"{tail(result.stdout + result.stderr)}{self._log_section()}"
            )
        return result

    def _log_section(self) -> str:
        if not self.log_file.is_file():
            return ""
        text = self.log_file.read_text(errors="replace")
        return f"\n--- tail of {self.log_file} ---\n{tail(text)}"

    def log_tail(self) -> str:
        """The last lines of the server log ('' when there is none yet)."""
        if not self.log_file.is_file():
            return ""
        return tail(self.log_file.read_text(errors="replace"))

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
        if not is_root():
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
                "# --- devtools.postgres_server ---",
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
