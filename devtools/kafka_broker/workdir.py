"""What a broker writes in its work directory before the JVM starts.

``server.properties`` (combined broker+controller on loopback), ``log4j2.properties`` (all
logging to one rolling file), ``broker.json`` (the ports, so a restart reuses them), and the
KRaft storage format (with a fresh cluster id) of a data directory never used before.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from devtools.kafka_broker.errors import KafkaBrokerError
from devtools.kafka_broker.network import HOST

__all__ = [
    "BROKER_JSON",
    "format_storage",
    "load_saved_ports",
    "log4j2_properties",
    "save_ports",
    "server_properties",
]

BROKER_JSON = "broker.json"


def load_saved_ports(workdir: Path) -> tuple[int, int] | None:
    """The (port, controller port) a previous broker in ``workdir`` used, if recorded."""
    try:
        saved: dict[str, Any] = json.loads((workdir / BROKER_JSON).read_text())
        return int(saved["port"]), int(saved["controller_port"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def save_ports(workdir: Path, port: int, controller_port: int) -> None:
    """Record the ports in ``workdir`` for ``load_saved_ports``."""
    (workdir / BROKER_JSON).write_text(
        json.dumps({"port": port, "controller_port": controller_port}) + "\n"
    )


def server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """The text of ``server.properties`` for a single-node KRaft broker+controller."""
    c = controller_port
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{c}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{c}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        # One partition for the group coordinator (the default is 50): the first consumer group
        # on a fresh broker waits for one log to load, not fifty, on a loaded CI machine.
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "# Written by infra/kafka_broker/workdir.py; rewritten on every start.\n" + "".join(
        f"{key}={value}\n" for key, value in settings.items()
    )


def log4j2_properties(server_log: Path) -> str:
    """The text of ``log4j2.properties``: all broker logging to ``server_log``, rolled at 20MB."""
    return (
        "# Written by infra/kafka_broker/workdir.py: all broker logging goes to one rolling file.\n"
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


def _random_cluster_id() -> str:
    """A Kafka ``Uuid`` string: 16 random bytes, URL-safe base64, unpadded, not led by '-'."""
    while True:
        raw = os.urandom(16)
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if not text.startswith("-") and raw not in (bytes(16), bytes(15) + b"\x01"):
            return text


def format_storage(
    java: str, libs: Path, workdir: Path, config_path: Path, log_dir: Path, timeout: float
) -> None:
    """Format the data directory named in ``config_path`` with ``kafka.tools.StorageTool``.

    The tool's output goes to ``log_dir/format.log``; a failure or a run longer than
    ``timeout`` seconds raises ``KafkaBrokerError``.
    """
    cmd = [
        java,
        "-Xmx128m",
        "-cp",
        f"{libs}/*",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _random_cluster_id(),
        "-c",
        str(config_path),
    ]
    try:
        done = subprocess.run(
            cmd,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaBrokerError("kafka.tools.StorageTool format timed out") from exc
    (log_dir / "format.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise KafkaBrokerError(
            f"kafka.tools.StorageTool format exited {done.returncode}:\n"
            + (done.stdout + done.stderr).strip()
        )
