"""PHI at rest on the PostgreSQL store (issue 12): with `REMS_ENCRYPTION_KEY_FILE` the tables'
contents, dumped whole, hold none of a simulated program's names, addresses, phones, birth dates
or diagnoses; without it the same dump shows them (the scan sees what is there)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from application.ledger import Ledger
from application.views import Views
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo
from tests.integration.test_phi_at_rest import phi_of
from tests.program import TZ

pytestmark = pytest.mark.postgres

PATIENTS = 12


def table_contents(url: str) -> dict[str, bytes]:
    """Every table of the database (system catalogues aside), as the bytes of a binary COPY:
    text columns as written, bytea (the stored events) as its raw bytes."""
    dumps: dict[str, bytes] = {}
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, name in tables:
            query = sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(
                sql.Identifier(schema, name)
            )
            with connection.cursor().copy(query) as copy:
                dumps[f"{schema}.{name}"] = b"".join(bytes(chunk) for chunk in copy)
    return dumps


def simulated_program(url: str, key_file: Path | None) -> set[str]:
    """The demo program on the store, read models caught up; its PHI."""
    ledger = Ledger(
        Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ, encryption_key_file=key_file)
    )
    try:
        out = io.BytesIO()
        run_demo(ledger, patients=PATIENTS, commands_out=out)
        now = ledger.last_recorded_at
        assert now is not None
        with Views(ledger) as views:
            views.due(now)
    finally:
        ledger.close()
    return phi_of([json.loads(line) for line in out.getvalue().splitlines()])


def test_encrypted_postgres_tables_hold_none_of_the_programs_phi(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    """Dumping every table of an encrypted PostgreSQL store (events, read models, tracking)
    finds no name, address, phone, birth date or diagnosis code of the simulated program."""
    key_file = tmp_path / "encryption.key"
    create_encryption_key_file(key_file)
    phi = simulated_program(fresh_postgres_url, key_file)
    assert len(phi) > PATIENTS
    dumps = table_contents(fresh_postgres_url)
    assert any("stored_events" in name or "events" in name for name in dumps), sorted(dumps)
    assert any(name.endswith("eligibility_patients") for name in dumps), sorted(dumps)
    assert sum(len(d) for d in dumps.values()) > 100_000  # the scan reads real contents
    for name, content in dumps.items():
        leaked = sorted(value for value in phi if value.encode() in content)
        assert not leaked, (name, leaked[:5])


def test_without_a_key_the_postgres_dump_shows_the_phi(fresh_postgres_url: str) -> None:
    """The control: without a key the same dump finds the program's PHI in clear."""
    phi = simulated_program(fresh_postgres_url, None)
    content = b"".join(table_contents(fresh_postgres_url).values())
    assert any(value.encode() in content for value in phi)
