"""Pytest fixtures for a real PostgreSQL server (see ``devtools.postgres_server``).

The lead's top-level ``conftest.py`` imports these; a test module may also
import them directly. ``postgres_url`` starts one throwaway server per test
session; ``fresh_postgres_url`` gives each test its own empty database on it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from devtools.postgres_server import running_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the ``rems`` database on a server started once for the whole session."""
    with running_postgres() as url:
        yield url


def _with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at ``database`` instead."""
    return urlsplit(url)._replace(path=f"/{database}").geturl()


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, uniquely named, empty database on the server; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    admin_url = _with_database(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            # FORCE ends connections a test (or a leaked pool) left open.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, uniquely named, empty database, dropped after the test."""
    with scratch_database(postgres_url) as url:
        yield url
