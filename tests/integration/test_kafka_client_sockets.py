"""kafka-python 3.0.12 left the socket of every failed connect open (`close_failed_connects`
in `infra.kafka_clients` closes it): a reconnect loop through an outage leaked a descriptor per
try, held by the log records pytest keeps, and the collector's ResourceWarning later failed an
unrelated test."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from infra.kafka_clients import KafkaError, KafkaNetSocket


class RecordingSocket(KafkaNetSocket):  # type: ignore[misc]  # kafka-python is untyped
    """kafka-python's plain socket factory, remembering the sockets it made."""

    SCHEMES = ()  # a subclass registers the proxy schemes it serves: none

    def __init__(self) -> None:
        super().__init__()
        self.made: list[socket.socket] = []

    def socket(self, *args: Any) -> socket.socket:
        made = socket.socket(*args)
        self.made.append(made)
        return made


class Net:
    """The one call of kafka-python's event loop a connect makes: wait until writable."""

    async def wait_write(self, sock: socket.socket, timeout_at: float | None = None) -> None:
        await asyncio.sleep(0.01)


def _refusing_address() -> tuple[Any, ...]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return socket.getaddrinfo("127.0.0.1", port, socket.AF_INET, socket.SOCK_STREAM)[0]


def test_a_refused_connect_closes_its_socket() -> None:
    factory = RecordingSocket()
    with pytest.raises(KafkaError, match="ECONNREFUSED"):
        asyncio.run(factory.connect(Net(), _refusing_address()))
    assert [made.fileno() for made in factory.made] == [-1]
