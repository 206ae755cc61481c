"""Loopback ports for a broker, and the probes that tell whether it answers yet."""

from __future__ import annotations

import socket
import warnings
from typing import Final

with warnings.catch_warnings():
    # kafka-python 3.0.x loads its protocol schemas at import time through
    # importlib.resources.read_text/open_text, deprecated on Python 3.11+; under the test
    # suite's filterwarnings=error that would make the import itself fail.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

__all__ = ["HOST", "accepts_tcp", "free_port", "kafka_answers", "port_bindable"]

HOST: Final = "127.0.0.1"


def free_port(exclude: int | None = None) -> int:
    """A loopback port that was free a moment ago, never ``exclude``."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port != exclude:
            return port


def port_bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` now (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def accepts_tcp(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback ``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def kafka_answers(bootstrap: str, timeout_s: float) -> bool:
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
