"""Starting servers on a free port, and the throwaway server tests run against.

:func:`start_with_retries` is shared with the dev command line: with an auto-picked port it
retries when another process grabbed the port first. :func:`running_postgres` is the context
manager tests use.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devtools.postgres_server.addresses import free_port
from devtools.postgres_server.install import ensure_postgres_installed
from devtools.postgres_server.server import PostgresServer

__all__ = ["running_postgres", "start_with_retries"]

_ADDRESS_IN_USE = re.compile(r"could not bind|address already in use", re.IGNORECASE)


def start_with_retries(
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
        server = start_with_retries(base_dir, port, durable=durable, bin_dir=bin_dir)
        try:
            yield server.url
        finally:
            server.stop()
    finally:
        if created:
            shutil.rmtree(base_dir, ignore_errors=True)
