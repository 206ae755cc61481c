"""Event hashes v2 (AUDIT-FORMAT.md §1): new events carry `"chain": 2` and are hashed as
SHA-256 of JCS(E); rows written by the v1 code (no `chain`) keep verifying, and a ledger
written before v2 takes v2 events on top of its v1 chains. SQLite and the real PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
import pytest
import rfc8785

from application.ledger import Ledger
from audit.findings import ProblemKind
from audit.verify import verify
from domain.chain import GENESIS
from tests.conftest import make_ledger
from tests.integration.test_tamper_evidence import RawStore, patient
from tests.program import Program


@pytest.fixture
def raw(any_ledger: Ledger) -> Iterator[RawStore]:
    """Direct access to the ledger's event table."""
    store = RawStore(any_ledger)
    yield store
    store.conn.close()


def _e(row_state: dict[str, Any], aggregate: UUID, version: int, topic: str) -> dict[str, Any]:
    """E of §1, built from the page alone."""
    e = {k: v for k, v in row_state.items() if k not in ("hash", "class_version")}
    return {**e, "originator_id": str(aggregate), "originator_version": version, "topic": topic}


def write_as_v1(store: RawStore, aggregate: UUID) -> None:
    """Rewrite an aggregate's rows as the pre-v2 code wrote them: no `chain`, the sorted-keys
    `json.dumps` hash, each chained on the v1 hash before it."""
    previous = GENESIS
    for row in store.rows(aggregate):
        state = {k: v for k, v in row.json.items() if k != "chain"}
        state["previous_hash"] = previous
        e = _e(state, aggregate, row.version, row.topic)
        text = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        state["hash"] = previous = hashlib.sha256(text.encode()).hexdigest()
        store.set_state(row.position, orjson.dumps(state))


def test_new_events_carry_chain_2_and_hash_jcs_of_e(any_ledger: Ledger, raw: RawStore) -> None:
    """Every new row has `"chain": 2` and its hash is SHA-256 of RFC 8785 bytes of E."""
    Program(any_ledger).participants().ready_male("M1")
    rows = raw.rows(patient("M1"))
    assert rows
    previous = GENESIS
    for row in rows:
        state = row.json
        assert state["chain"] == 2
        assert state["previous_hash"] == previous
        expected = hashlib.sha256(rfc8785.dumps(_e(state, row.aggregate, row.version, row.topic)))
        assert state["hash"] == expected.hexdigest()
        previous = state["hash"]


def test_a_ledger_written_by_v1_code_verifies_and_takes_v2_events_on_top(
    any_ledger: Ledger, raw: RawStore
) -> None:
    """Rows rewritten exactly as v1 wrote them verify; new commands append v2 events chained on
    the v1 heads, and the whole mixed store verifies."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    for (aggregate,) in raw.execute(f"SELECT DISTINCT originator_id FROM {raw.table}"):
        write_as_v1(raw, aggregate if isinstance(aggregate, UUID) else UUID(aggregate))
    v1_rows = raw.rows(patient("M1"))
    assert all("chain" not in row.json for row in v1_rows)
    reopened = make_ledger(any_ledger.settings.database_url)
    try:
        assert verify(reopened).ok
        q = Program(reopened, start=p.now).advance(days=1)
        q.survey("M1")
        rows = raw.rows(patient("M1"))
        new = rows[len(v1_rows) :]
        assert new
        assert new[0].json["chain"] == 2
        assert new[0].json["previous_hash"] == v1_rows[-1].json["hash"]
        report = verify(reopened)
        assert report.ok, report.problems
    finally:
        reopened.close()


def test_an_unknown_chain_value_is_named_as_altered(any_ledger: Ledger, raw: RawStore) -> None:
    """A row with `"chain": 3` (or `true`) is a hash scheme nobody knows: verify names it."""
    Program(any_ledger).participants().ready_male("M1")
    first, second = raw.rows(patient("M1"))[:2]
    raw.set_state(first.position, orjson.dumps({**first.json, "chain": 3}))
    raw.set_state(second.position, orjson.dumps({**second.json, "chain": True}))
    report = verify(any_ledger)
    altered = {(p.kind, p.position) for p in report.problems}
    assert (ProblemKind.ALTERED, first.position) in altered
    assert (ProblemKind.ALTERED, second.position) in altered


def test_a_stored_whole_float_is_hashed_as_jcs_writes_it() -> None:
    """JCS writes 25.0 as 25, so a state holding 25.0 and one holding 25 hash alike under v2
    (and Python's json.dumps, which writes 25.0, is not what is hashed)."""
    from domain.chain import stored_event_hash

    aggregate = UUID(int=1)
    as_float = stored_event_hash(aggregate, 1, {"chain": 2, "x": 25.0}, "t")
    as_int = stored_event_hash(aggregate, 1, {"chain": 2, "x": 25}, "t")
    assert as_float == as_int
    v1 = stored_event_hash(aggregate, 1, {"x": 25.0}, "t")
    assert v1 != stored_event_hash(aggregate, 1, {"x": 25}, "t")
