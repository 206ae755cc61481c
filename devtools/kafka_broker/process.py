"""The broker process: ``KafkaBroker`` (start, readiness wait, stop, restart) and ``running_kafka``.

The broker runs as ``java -cp '<libs>/*' kafka.Kafka server.properties`` in its own process
group, combined broker+controller, with every file it writes under one work directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from devtools.kafka_broker.errors import KafkaBrokerError
from devtools.kafka_broker.jars import ensure_kafka_jars
from devtools.kafka_broker.network import HOST, accepts_tcp, free_port, kafka_answers, port_bindable
from devtools.kafka_broker.workdir import (
    format_storage,
    load_saved_ports,
    log4j2_properties,
    save_ports,
    server_properties,
)

__all__ = ["STARTUP_TIMEOUT_S", "STOP_GRACE_S", "KafkaBroker", "running_kafka", "signal_group"]

STARTUP_TIMEOUT_S: Final = 120.0
STOP_GRACE_S: Final = 30.0

_HEAP_RE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaBrokerError("`java` (17 or newer) is not on PATH and JAVA_HOME is not set")
    return java


def _tail(path: Path, lines: int = 40) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(content[-lines:]) or f"({path} is empty)"


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid``, ignoring one that is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class KafkaBroker:
    """One KRaft broker+controller process with its config, data and logs under ``workdir``.

    Ports are fixed when the object is made (free loopback ports unless given, or the ones a
    previous broker in the same ``workdir`` used while they are free), so ``stop()`` followed
    by ``start()`` brings the same broker back on the same address with the same data.
    Storage is formatted on the first ``start()`` only.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
        libs: Path | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_S,
    ) -> None:
        """Prepare (but do not start) a broker rooted at ``workdir``."""
        if not _HEAP_RE.match(heap):
            raise ValueError(f"heap must look like 256m or 1g, not {heap!r}")
        self.workdir = Path(workdir).resolve()
        self.heap = heap
        self.startup_timeout = startup_timeout
        self._libs = libs
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None

        saved = load_saved_ports(self.workdir)
        if port is None and saved is not None and port_bindable(saved[0]):
            port = saved[0]
        if controller_port is None and saved is not None and port_bindable(saved[1]):
            controller_port = saved[1] if saved[1] != port else None
        self.port: int = port if port is not None else free_port()
        self.controller_port: int = (
            controller_port if controller_port is not None else free_port(exclude=self.port)
        )
        if self.port == self.controller_port:
            raise ValueError("broker and controller ports must differ")

    # -- paths -------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """The client bootstrap address, ``127.0.0.1:<port>``."""
        return f"{HOST}:{self.port}"

    @property
    def data_dir(self) -> Path:
        """The broker's ``log.dirs`` (topic partitions and the KRaft metadata log)."""
        return self.workdir / "data"

    @property
    def log_dir(self) -> Path:
        """Where ``server.log`` (log4j) and ``stdout.log`` (JVM output) are written."""
        return self.workdir / "logs"

    @property
    def config_path(self) -> Path:
        """The generated ``server.properties``."""
        return self.workdir / "server.properties"

    @property
    def pid(self) -> int | None:
        """The JVM's pid (also its process-group id) while it runs, else ``None``."""
        return self._proc.pid if self.is_running() and self._proc is not None else None

    def is_running(self) -> bool:
        """Whether the broker process started by this object is still alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> str:
        """Start the broker, wait until a client call succeeds, and return the bootstrap address.

        Formats storage first if ``data_dir`` was never formatted. Raises ``KafkaBrokerError``
        (with the tail of the broker's logs) if the broker exits or does not answer within
        ``startup_timeout`` seconds; the process is stopped in that case.
        """
        if self.is_running():
            raise KafkaBrokerError(f"broker already running (pid {self.pid}) at {self.bootstrap}")
        libs = self._libs if self._libs is not None else ensure_kafka_jars()
        for port in (self.port, self.controller_port):
            if not port_bindable(port):
                raise KafkaBrokerError(f"port {HOST}:{port} is already in use")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        self._write_configs()
        if not (self.data_dir / "meta.properties").exists():
            self._format(libs)

        cmd = [
            _java(),
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            # Keep log4j alive until the JVM exits so the shutdown sequence is logged too.
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(self.config_path),
        ]
        self._stdout = (self.log_dir / "stdout.log").open("ab")
        self._proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop the broker: SIGTERM to its process group, SIGKILL after ``grace`` seconds.

        Data, config and logs stay in ``workdir``; a no-op if the broker is not running.
        """
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    signal_group(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
            self._proc = None
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None

    def detach(self) -> int:
        """Forget the running process without stopping it and return its pid (for ``up``)."""
        if self._proc is None or self._proc.poll() is not None:
            raise KafkaBrokerError("broker is not running")
        pid = self._proc.pid
        # The broker outlives us; mark the handle finished so Popen.__del__ stays quiet.
        self._proc.returncode = 0
        self._proc = None
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None
        return pid

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of ``server.log`` and ``stdout.log``, for error messages."""
        return (
            f"--- {self.log_dir / 'server.log'}\n{_tail(self.log_dir / 'server.log', lines)}\n"
            f"--- {self.log_dir / 'stdout.log'}\n{_tail(self.log_dir / 'stdout.log', lines)}"
        )

    def __enter__(self) -> KafkaBroker:
        """Start the broker (see ``start()``)."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker (see ``stop()``)."""
        self.stop()

    def __repr__(self) -> str:
        """Show address, state and directory."""
        state = f"pid={self.pid}" if self.is_running() else "stopped"
        return f"KafkaBroker({self.bootstrap}, {state}, workdir={str(self.workdir)!r})"

    # -- internals ---------------------------------------------------------------------

    def _write_configs(self) -> None:
        self.config_path.write_text(
            server_properties(self.port, self.controller_port, self.data_dir)
        )
        (self.workdir / "log4j2.properties").write_text(
            log4j2_properties(self.log_dir / "server.log")
        )
        save_ports(self.workdir, self.port, self.controller_port)

    def _format(self, libs: Path) -> None:
        format_storage(
            _java(), libs, self.workdir, self.config_path, self.log_dir, STARTUP_TIMEOUT_S
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        proc = self._proc
        assert proc is not None
        while True:
            if proc.poll() is not None:
                raise KafkaBrokerError(
                    f"Kafka broker exited with code {proc.returncode} during startup\n"
                    + self.log_tail()
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaBrokerError(
                    f"Kafka broker at {self.bootstrap} did not answer within "
                    f"{self.startup_timeout:.0f}s\n" + self.log_tail()
                )
            # Only hand the address to kafka-python once the port accepts connections: its
            # admin client leaks an I/O thread whenever its bootstrap fails.
            if accepts_tcp(self.port) and kafka_answers(self.bootstrap, min(10.0, remaining)):
                return
            time.sleep(0.2)


@contextlib.contextmanager
def running_kafka(port: int | None = None, heap: str = "512m") -> Iterator[str]:
    """Run a throwaway broker in a temporary directory and yield its ``127.0.0.1:<port>``.

    The broker is stopped (SIGTERM, then SIGKILL after a grace period) and the directory
    removed on exit.
    """
    workdir = Path(tempfile.mkdtemp(prefix="rems-kafka-"))
    broker = KafkaBroker(workdir, port=port, heap=heap)
    try:
        yield broker.start()
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
