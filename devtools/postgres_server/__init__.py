"""Throwaway and dev PostgreSQL servers for tests and local development.

The project's event store runs on PostgreSQL. This package starts a private
cluster on a loopback port so tests and developers never depend on a
machine-wide server:

* :func:`ensure_postgres_installed` finds the server binaries (installing the
  Debian ``postgresql`` package with apt-get when they are missing).
* :class:`PostgresServer` owns one cluster: ``initdb``, start, stop, remove.
* :func:`running_postgres` is the context manager tests use: it yields a URL
  such as ``postgresql://postgres@127.0.0.1:PORT/rems`` and tears the server
  down afterwards.
* ``python -m devtools.postgres_server up|down|status`` manages a persistent
  dev server whose location is recorded in ``.cache/postgres/state.json``
  under the current working directory.

PostgreSQL refuses to run as root, so when this process is root every server
command runs as the ``postgres`` system user (via ``runuser``) and the
cluster directory is owned by that user. Cluster directories live under
``/tmp`` by default because the checkout may not be traversable by
``postgres``.

The package's modules: ``install`` (finding or installing the binaries), ``server``
(:class:`PostgresServer`), ``running`` (:func:`running_postgres` and start-up retries),
``devcli`` (the ``up|down|status`` dev server), ``addresses`` (ports and URLs) and ``system``
(root, the ``postgres`` user, the command environment).
"""

from __future__ import annotations

from devtools.postgres_server.addresses import DATABASE_NAME, free_port
from devtools.postgres_server.addresses import HOST as HOST
from devtools.postgres_server.addresses import SUPERUSER as SUPERUSER
from devtools.postgres_server.addresses import make_url as make_url
from devtools.postgres_server.devcli import STATE_FILE as STATE_FILE
from devtools.postgres_server.devcli import main
from devtools.postgres_server.install import ensure_postgres_installed
from devtools.postgres_server.running import running_postgres
from devtools.postgres_server.server import PostgresServer
from devtools.postgres_server.system import SYSTEM_USER as SYSTEM_USER

__all__ = [
    "DATABASE_NAME",
    "PostgresServer",
    "ensure_postgres_installed",
    "free_port",
    "main",
    "running_postgres",
]
