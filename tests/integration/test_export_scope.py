"""An export checks what its record rests on, from the rows, and nothing of other records
(issue 13: `rems export` no longer re-verifies the whole ledger)."""

from __future__ import annotations

import sqlite3

from audit.record import build_record
from audit.verify import verify
from domain.registry import aggregate_id
from tests.integration.test_export import exported  # noqa: F401  # the recorded program fixture
from tests.program import Program


def _alter(url: str, where: str, params: tuple[object, ...]) -> None:
    """Flip one stored byte of the rows matching `where` (their content no longer hashes)."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        rows = db.execute(f"SELECT rowid, state FROM stored_events WHERE {where}", params)
        for rowid, state in rows.fetchall():
            forged = bytes(state).replace(b'"timestamp":"', b'"timestamp":"0', 1)
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (forged, rowid))


def test_export_verification_ignores_an_altered_event_of_another_record(
    exported: Program,  # noqa: F811  # the fixture imported above
    sqlite_url: str,
) -> None:
    """An altered row outside the record (the duplicate index) fails `rems verify`, while
    the export's verification, scoped to the record's aggregates, stays ok."""
    _alter(sqlite_url, "topic = ?", ("domain.duplicates:PersonIndexed",))
    assert not verify(exported.ledger).ok
    verification = build_record(exported.ledger, "PAT1")["verification"]
    assert verification["scope"] == "record"
    assert verification["ok"] is True
    assert verification["problems_elsewhere"] == 0


def test_export_verification_reports_an_altered_number_claim_of_the_patient(
    exported: Program,  # noqa: F811  # the fixture imported above
    sqlite_url: str,
) -> None:
    """The number claims of the patient's decisions are part of the record: an altered one
    fails the export's verification, named by the claim's aggregate."""
    _alter(sqlite_url, "topic = ?", ("domain.registry:NumberClaimed",))
    verification = build_record(exported.ledger, "PAT1")["verification"]
    assert verification["ok"] is False
    named = {p["aggregate_id"] for p in verification["problems"]}
    assert named - {str(aggregate_id("patient", "PAT1"))}, "the claims' own aggregates"
