"""This tier runs the ledger on SQLite and on the real PostgreSQL, and talks to a real Kafka
broker: the ledger and server fixtures are imported here (found by name)."""

from __future__ import annotations

import pytest

from tests.fixtures_kafka import kafka_bootstrap, kafka_broker  # noqa: F401 - fixtures, by name
from tests.fixtures_postgres import (  # noqa: F401 - fixtures, used by name
    fresh_postgres_url,
    postgres_url,
)
from tests.ledger_fixtures import (  # noqa: F401 - fixtures, used by name
    any_ledger,
    backend_url,
    ledger,
    module_backend_url,
    program,
)


def pytest_configure(config: pytest.Config) -> None:
    """Register schemathesis' pytest plugin (off in `addopts`, so the other tiers start without
    it) for `test_api_fuzz.py`'s `schema.parametrize()` tests."""
    from schemathesis.pytest import plugin

    if not config.pluginmanager.is_registered(plugin):
        config.pluginmanager.register(plugin, "schemathesis-e2e")
