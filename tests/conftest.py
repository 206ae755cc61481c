"""Shared by every tier: the Hypothesis profile, a fresh SQLite URL, and `make_ledger`.

Light on purpose: the domain tier (`tests/domain`) starts without the ledger, PostgreSQL or
Kafka. The ledger fixtures live in `tests/ledger_fixtures.py` and the server fixtures in
`tests/fixtures_postgres.py` and `tests/fixtures_kafka.py`; each tier's `conftest.py` imports
the ones it uses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from application.ledger import Ledger

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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
