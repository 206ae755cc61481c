"""The application tier: the rules through `Ledger.execute` on a fresh SQLite ledger."""

from __future__ import annotations

# Fixtures are found by name: importing them here makes them this tier's.
from tests.ledger_fixtures import ledger, program  # noqa: F401 - fixtures, used by name
