"""What a start-up leaves unloaded (issue 9): a query on caught-up read models decodes no event,
so the patient's event classes are not imported; an up-to-date `rems eligibility` answered
before loads no pydantic model at all; `rems verify` on SQLite never loads the PostgreSQL
driver."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import make_ledger
from tests.e2e.test_cli_start import env_on, modules_after
from tests.program import Program


def test_eligibility_on_caught_up_read_models_imports_no_patient_event(tmp_path: Path) -> None:
    """Once the read models hold every event, `rems eligibility ID` answers from the stored
    state: the patient's fact events, the batch and the replay are never imported."""
    database = tmp_path / "rems.db"
    ledger = make_ledger(f"sqlite:///{database}")
    Program(ledger).participants().ready_male("M1")
    ledger.close()
    subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "projections", "run"],
        env=env_on(database),
        capture_output=True,
        timeout=300,
        check=True,
    )
    loaded = modules_after(database, "eligibility", "M1")
    assert "domain.patient_fold" in loaded
    assert "domain.patient_events" not in loaded
    assert "application.batch" not in loaded
    assert "application.replay" not in loaded


@pytest.mark.parametrize("clock", ["event", "system"])
def test_an_up_to_date_eligibility_answered_before_imports_no_pydantic_model(
    tmp_path: Path, clock: str
) -> None:
    """The second `rems eligibility ID` at the same log position prints the remembered answer
    (under the system clock, with its `as_of` that run's instant): neither pydantic's models
    nor the ledger, the rule engine or the patient's fold are imported, and its output is the
    first's, byte for byte (under the system clock, `as_of` aside)."""
    database = tmp_path / "rems.db"
    ledger = make_ledger(f"sqlite:///{database}")
    Program(ledger).participants().ready_male("M1")
    ledger.close()
    env = {**env_on(database), "REMS_CLOCK": clock}
    runs = [
        orjson.loads(
            subprocess.run(
                [sys.executable, "-m", "entrypoints.cli", "eligibility", "M1", "--json"],
                env=env,
                capture_output=True,
                timeout=300,
                check=True,
            ).stdout
        )
        for _ in range(2)
    ]
    if clock == "system":
        assert runs[1].pop("as_of") > runs[0].pop("as_of")
    assert runs[1] == runs[0]
    assert runs[0]["patient_id"] == "M1"
    loaded = modules_after(database, "eligibility", "M1", clock=clock)
    for module in ("pydantic.main", "application.ledger", "domain.rules", "domain.patient_fold"):
        assert module not in loaded
    assert "application.remembered_eligibility" in loaded
    assert not {"psycopg", "cryptography"} & {m.split(".")[0] for m in loaded}


def test_verify_on_sqlite_never_loads_the_postgres_driver(tmp_path: Path) -> None:
    """`rems verify` on a SQLite store reads it without importing psycopg."""
    database = tmp_path / "rems.db"
    ledger = make_ledger(f"sqlite:///{database}")
    Program(ledger).participants().ready_male("M1")
    ledger.close()
    loaded = modules_after(database, "verify")
    assert "audit.aggregate_rows" in loaded
    assert "psycopg" not in loaded
    assert "eventsourcing.postgres" not in loaded
