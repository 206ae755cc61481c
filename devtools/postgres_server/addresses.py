"""Where a server listens and how to reach it: loopback ports and ``postgresql://`` URLs."""

from __future__ import annotations

import socket

__all__ = ["DATABASE_NAME", "HOST", "SUPERUSER", "free_port", "make_url", "port_accepts"]

DATABASE_NAME = "rems"
"""Database created in every cluster; the yielded URL points at it."""

SUPERUSER = "postgres"
HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def make_url(port: int, database: str = DATABASE_NAME) -> str:
    """Return the libpq URL for ``database`` on the loopback server at ``port``."""
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"
