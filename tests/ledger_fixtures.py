"""Ledger fixtures for the tiers that run the application: a ledger per test on SQLite, on
each backend in turn, and a database per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from application.ledger import Ledger
from tests.conftest import make_ledger
from tests.fixtures_postgres import scratch_database
from tests.program import Program


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[Ledger]:
    """A ledger on a fresh SQLite file."""
    app = make_ledger(sqlite_url)
    yield app
    app.close()


@pytest.fixture
def program(ledger: Ledger) -> Program:
    """A program driver with DR1 and PH1 certified, clock at 2026-03-01 09:00 New York."""
    return Program(ledger).participants()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend: SQLite, and the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rems.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def any_ledger(backend_url: str) -> Iterator[Ledger]:
    """A ledger on each backend in turn."""
    app = make_ledger(backend_url)
    yield app
    app.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of its own per backend for one test module (e.g. a simulated program built
    once and read by every test of the module)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('module') / 'rems.db'}"
        return
    with scratch_database(request.getfixturevalue("postgres_url")) as url:
        yield url
