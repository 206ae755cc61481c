"""A real single-node Apache Kafka broker (KRaft mode) on 127.0.0.1, for development and tests.

The broker's jars come from Maven Central through Maven: ``infra/kafka_broker/pom.xml`` names
the Kafka release and ``ensure_kafka_jars()`` copies its runtime classpath into a per-version
cache directory (``~/.cache/rems/kafka/<version>/libs``, or ``$REMS_KAFKA_CACHE/<version>/libs``).
The broker then runs as ``java -cp '<libs>/*' kafka.Kafka server.properties`` in its own
process group, combined broker+controller, with every file it writes under one work directory.

Three ways in:

* ``running_kafka()`` - a context manager yielding ``"127.0.0.1:<port>"`` for a throwaway broker
  in a temporary directory (what the pytest fixture uses);
* ``KafkaBroker`` - the same broker as an object whose ``stop()``/``start()`` keep the port and
  the data directory, for restart and fault tests;
* ``python -m infra.kafka_broker up|down|status`` - a persistent dev broker whose state lives in
  ``.cache/kafka/`` under the current directory (``scripts/kafka`` wraps it).

Needs ``java`` (17+) and, the first time per Kafka version, ``mvn`` on ``PATH``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

with warnings.catch_warnings():
    # kafka-python 3.0.x loads its protocol schemas at import time through
    # importlib.resources.read_text/open_text, deprecated on Python 3.11+; under the test
    # suite's filterwarnings=error that would make the import itself fail.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

__all__ = [
    "CACHE_ENV",
    "POM_PATH",
    "KafkaBroker",
    "KafkaBrokerError",
    "ensure_kafka_jars",
    "kafka_version",
    "main",
    "running_kafka",
]

POM_PATH: Final = Path(__file__).resolve().parent / "kafka_broker" / "pom.xml"
"""The pom that pins the Kafka release and its runtime classpath."""

CACHE_ENV: Final = "REMS_KAFKA_CACHE"
"""Environment variable overriding the jar cache root (default ``~/.cache/rems/kafka``)."""

HOST: Final = "127.0.0.1"
STARTUP_TIMEOUT_S: Final = 120.0
STOP_GRACE_S: Final = 30.0
MVN_TIMEOUT_S: Final = 900.0

_MARKER = ".complete"
_POM_NS = "{http://maven.apache.org/POM/4.0.0}"
_HEAP_RE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_BROKER_JSON = "broker.json"
_STATE_DIR = Path(".cache") / "kafka"


class KafkaBrokerError(RuntimeError):
    """Raised when the Kafka jars cannot be resolved or the broker fails to start or stop."""


# --------------------------------------------------------------------------- jars


def kafka_version(pom: Path = POM_PATH) -> str:
    """Return the Kafka release pinned by ``<kafka.version>`` in the broker pom."""
    root = ET.parse(pom).getroot()
    node = root.find(f"{_POM_NS}properties/{_POM_NS}kafka.version")
    if node is None or not (node.text or "").strip():
        raise KafkaBrokerError(f"{pom}: no <kafka.version> property")
    return (node.text or "").strip()


def _cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "rems" / "kafka"


def ensure_kafka_jars() -> Path:
    """Resolve the broker's runtime jars through Maven once and return the directory holding them.

    The jars land in ``<cache root>/<kafka version>/libs`` (cache root ``~/.cache/rems/kafka``
    or ``$REMS_KAFKA_CACHE``). A marker file holding the pom's sha256 is written after a
    successful copy; while it matches, no Maven run happens. Concurrent callers serialise on a
    lock file, and a half-finished copy is never visible under ``libs``.
    """
    pom = POM_PATH
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    base = _cache_root() / kafka_version(pom)
    libs = base / "libs"
    marker = base / _MARKER
    if _cache_valid(marker, libs, digest):
        return libs

    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _cache_valid(marker, libs, digest):
            return libs
        marker.unlink(missing_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=base))
        staging.chmod(0o755)
        try:
            _run_maven(pom, staging)
            if not any(staging.glob("kafka_2.*.jar")):
                raise KafkaBrokerError(f"Maven ran but copied no kafka_2.* jar into {staging}")
            shutil.rmtree(libs, ignore_errors=True)
            staging.rename(libs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        marker.write_text(digest + "\n")
    return libs


def _cache_valid(marker: Path, libs: Path, digest: str) -> bool:
    try:
        return marker.read_text().strip() == digest and libs.is_dir()
    except FileNotFoundError:
        return False


def _run_maven(pom: Path, out_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaBrokerError("`mvn` is not on PATH; it is needed once to fetch the Kafka jars")
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-Dkafka.libs.dir={out_dir}",
    ]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=MVN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaBrokerError(f"{' '.join(cmd)} timed out after {MVN_TIMEOUT_S:.0f}s") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-40:]
        raise KafkaBrokerError(f"{' '.join(cmd)} exited {done.returncode}:\n" + "\n".join(output))


# --------------------------------------------------------------------------- helpers


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaBrokerError("`java` (17 or newer) is not on PATH and JAVA_HOME is not set")
    return java


def _free_port(exclude: int | None = None) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port != exclude:
            return port


def _port_bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` now (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _accepts_tcp(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _random_cluster_id() -> str:
    """A Kafka ``Uuid`` string: 16 random bytes, URL-safe base64, unpadded, not led by '-'."""
    while True:
        raw = os.urandom(16)
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if not text.startswith("-") and raw not in (bytes(16), bytes(15) + b"\x01"):
            return text


def _tail(path: Path, lines: int = 40) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(content[-lines:]) or f"({path} is empty)"


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


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _kafka_answers(bootstrap: str, timeout_s: float) -> bool:
    """Whether a real client call (admin ``list_topics``) succeeds against ``bootstrap``."""
    timeout_ms = max(1000, int(timeout_s * 1000))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="rems-kafka-readiness",
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
    except KafkaError:
        return False
    finally:
        admin.close()
    return True


# --------------------------------------------------------------------------- broker


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
        heap: str = "256m",
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

        saved = self._load_saved_ports()
        if port is None and saved is not None and _port_bindable(saved[0]):
            port = saved[0]
        if controller_port is None and saved is not None and _port_bindable(saved[1]):
            controller_port = saved[1] if saved[1] != port else None
        self.port: int = port if port is not None else _free_port()
        self.controller_port: int = (
            controller_port if controller_port is not None else _free_port(exclude=self.port)
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
            if not _port_bindable(port):
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
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
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

    def _load_saved_ports(self) -> tuple[int, int] | None:
        try:
            saved: dict[str, Any] = json.loads((self.workdir / _BROKER_JSON).read_text())
            return int(saved["port"]), int(saved["controller_port"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _write_configs(self) -> None:
        c = self.controller_port
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{c}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{c}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "log.dirs": str(self.data_dir),
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        self.config_path.write_text(
            "# Written by infra/kafka_broker.py; rewritten on every start.\n"
            + "".join(f"{key}={value}\n" for key, value in settings.items())
        )
        server_log = self.log_dir / "server.log"
        (self.workdir / "log4j2.properties").write_text(
            "# Written by infra/kafka_broker.py: all broker logging goes to one rolling file.\n"
            "status = warn\n"
            "name = rems-kafka\n"
            "appender.file.type = RollingFile\n"
            "appender.file.name = FILE\n"
            f"appender.file.fileName = {server_log}\n"
            f"appender.file.filePattern = {server_log}.%i\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "appender.file.policies.type = Policies\n"
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
            "appender.file.policies.size.size = 20MB\n"
            "appender.file.strategy.type = DefaultRolloverStrategy\n"
            "appender.file.strategy.max = 3\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = FILE\n"
        )
        (self.workdir / _BROKER_JSON).write_text(
            json.dumps({"port": self.port, "controller_port": self.controller_port}) + "\n"
        )

    def _format(self, libs: Path) -> None:
        cmd = [
            _java(),
            "-Xmx128m",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _random_cluster_id(),
            "-c",
            str(self.config_path),
        ]
        try:
            done = subprocess.run(
                cmd,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=STARTUP_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError("kafka.tools.StorageTool format timed out") from exc
        (self.log_dir / "format.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise KafkaBrokerError(
                f"kafka.tools.StorageTool format exited {done.returncode}:\n"
                + (done.stdout + done.stderr).strip()
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
            if _accepts_tcp(self.port) and _kafka_answers(self.bootstrap, min(10.0, remaining)):
                return
            time.sleep(0.2)


@contextlib.contextmanager
def running_kafka(port: int | None = None, heap: str = "256m") -> Iterator[str]:
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


# --------------------------------------------------------------------------- dev CLI


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
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _pid_alive(pid):
        _signal_group(pid, signal.SIGKILL)
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
        prog="python -m infra.kafka_broker",
        description="Single-node Kafka (KRaft) broker on 127.0.0.1 for development.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the dev broker (no-op if running); print bootstrap")
    up.add_argument("--port", type=int, default=None, help="broker port (default: a free one)")
    up.add_argument("--heap", default="256m", help="JVM heap, e.g. 256m or 1g (default 256m)")
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


if __name__ == "__main__":
    sys.exit(main())
