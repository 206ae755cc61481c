"""`rems verify` checks the read models against the events (SQLite and the real PostgreSQL):
an edited, deleted or invented `eligibility_patients` row is named with its aggregate."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from application.ledger import Ledger
from application.views import Views
from audit.findings import ProblemKind
from audit.read_models import check_read_models
from tests.integration.test_tamper_evidence import RawStore, patient
from tests.program import Program


@pytest.fixture
def raw(any_ledger: Ledger) -> Iterator[RawStore]:
    """Direct SQL on the ledger's database."""
    store = RawStore(any_ledger)
    yield store
    store.conn.close()


@pytest.fixture
def built(any_ledger: Ledger) -> Ledger:
    """Two patients, the read models caught up."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    p.fill("M1")
    p.ready_male("M2")
    with Views(any_ledger) as views:
        views.runner.catch_up()
    return any_ledger


def test_intact_read_models_match_their_events(built: Ledger) -> None:
    """Fresh projections built from the log equal the stored ones."""
    assert check_read_models(built) == []


def test_an_edited_patient_row_is_named(built: Ledger, raw: RawStore) -> None:
    """A row changed by hand (another prescriber of record) is a read-model mismatch naming
    the patient's aggregate."""
    key = str(patient("M1"))
    [(state,)] = raw.execute("SELECT state FROM eligibility_patients WHERE aggregate_id = ?", key)
    edited = {**orjson.loads(state), "prescriber_id": "DR9"}
    raw.execute(
        "UPDATE eligibility_patients SET state = ? WHERE aggregate_id = ?",
        orjson.dumps(edited).decode(),
        key,
    )
    [problem] = check_read_models(built)
    assert problem.kind is ProblemKind.READ_MODEL_MISMATCH
    assert problem.aggregate_id == patient("M1")
    assert "differs from what its events give" in problem.message


def test_a_deleted_patient_row_is_named_missing(built: Ledger, raw: RawStore) -> None:
    """A row deleted from the read model is named as missing."""
    raw.execute("DELETE FROM eligibility_patients WHERE aggregate_id = ?", str(patient("M2")))
    [problem] = check_read_models(built)
    assert problem.aggregate_id == patient("M2")
    assert "is missing" in problem.message
