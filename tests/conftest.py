"""Shared by every tier: the Hypothesis profile, a fresh SQLite URL, and `make_ledger`.

Light on purpose: the domain tier (`tests/domain`) starts without the ledger, PostgreSQL or
Kafka. The ledger fixtures live in `tests/ledger_fixtures.py` and the server fixtures in
`tests/fixtures_postgres.py` and `tests/fixtures_kafka.py`; each tier's `conftest.py` imports
the ones it uses.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# No cyclic GC while the tests are collected: importing Hypothesis, pydantic and the domain's
# models makes hundreds of thousands of objects that live as long as the session, and the
# collector walked them over and over (a seventh of the domain tier's start). They are frozen
# once collected, so the run's collections, and pytest's own at the end, skip them too.
gc.disable()

from hypothesis import HealthCheck, settings  # noqa: E402 - after the GC is off

if TYPE_CHECKING:
    from application.ledger import Ledger

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection is over: what it loaded is frozen out of the collector, which runs again."""
    _collect_again()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """The same for xdist's controller, which collects nothing (its workers do)."""
    _collect_again()


def _collect_again() -> None:
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After a Kafka test (and its fixtures' teardown), any socket kafka-python dropped without
    closing is finalised here, quietly. The log records pytest keeps for the test hold such a
    socket alive until the test is over, so the collector's ResourceWarning would otherwise fail
    whichever test it next runs in (seen once in CI: the Hypothesis state machine, which opens
    no socket). The leak seen then, failed connects, is closed at its source
    (`infra.kafka_clients.close_failed_connects`)."""
    if item.get_closest_marker("kafka") is not None:
        from infra.kafka_clients import finalise_unclosed_sockets

        finalise_unclosed_sockets()


def make_ledger(url: str) -> Ledger:
    """A ledger on the given database, event clock, program zone New York."""
    from application.ledger import Ledger
    from infra.settings import ClockMode, Settings
    from tests.program import TZ

    return Ledger(Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'rems.db'}"
