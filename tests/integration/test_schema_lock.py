"""One process at a time makes the ledger's tables and functions in a PostgreSQL database
(`infra/schema_lock.py`): before it, `rems` processes started together on one database could
stop with exit 3, "cannot open the event store (tuple concurrently updated)" (two sessions
replacing the insert function at once), as 4 `rems serve` processes of `bench_http` did."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg

from application.ledger import Ledger
from infra.schema_lock import SCHEMA_LOCK_KEY
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_opening_the_store_waits_while_another_process_makes_the_schema(
    fresh_postgres_url: str,
) -> None:
    """While another session holds the schema lock, a ledger does not open; it opens, and
    records, once the lock is released."""
    opened: list[Ledger] = []
    with psycopg.connect(fresh_postgres_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        opening = threading.Thread(
            target=lambda: opened.append(Ledger(Settings(database_url=fresh_postgres_url)))
        )
        opening.start()
        opening.join(timeout=1.0)
        assert opening.is_alive()
        assert not opened
        other.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
        opening.join(timeout=30)
    assert not opening.is_alive()
    ledger = opened[0]
    try:
        result = ledger.execute(
            {
                "command": "register_prescriber",
                "prescriber_id": "DR1",
                "name": "Dr One",
                "address": "1 Way",
                "fax": "555-0100",
            }
        )
        assert result == {"ok": True, "prescriber_id": "DR1"}
        assert ledger.participant_state("prescriber", "DR1") is not None
    finally:
        ledger.close()


def test_processes_started_together_on_one_database_all_open_it(fresh_postgres_url: str) -> None:
    """Six `rems tokens list` started at once, three times over, on one new database: every one
    opens the store and exits 0 (one in 30 failed before the lock)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env["REMS_DATABASE_URL"] = fresh_postgres_url
    for _ in range(3):
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli.main", "tokens", "list"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(6)
        ]
        answers = [(process, *process.communicate(timeout=120)) for process in started]
        for process, out, err in answers:
            assert process.returncode == 0, err.decode()
            assert out.strip() == b"[]"
