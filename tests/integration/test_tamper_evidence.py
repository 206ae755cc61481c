"""Tamper evidence (DESIGN.md): `verify` and ledger digests against rows changed behind the
ledger's back, on SQLite and the real PostgreSQL.

Each test builds a small program through the command contract, checks that `verify` is ok, then
edits the stored rows directly in the database (sqlite3 / psycopg, never through the ledger) and
checks that `verify` names the aggregate and the log position of the damage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import psycopg
import pytest

from application.ledger import Ledger
from audit.digest import compute_digest, parse_digest
from audit.findings import ProblemKind
from audit.verify import verify
from domain.chain import stored_event_hash
from domain.registry import aggregate_id
from tests.conftest import make_ledger
from tests.program import Program


@dataclass(frozen=True)
class Row:
    """One stored event as the database holds it."""

    position: int
    aggregate: UUID
    version: int
    topic: str
    state: bytes

    @property
    def json(self) -> dict[str, Any]:
        """The decoded state."""
        loaded: dict[str, Any] = orjson.loads(self.state)
        return loaded


class RawStore:
    """The ledger's event table, read and written directly (SQL placeholders written `?`)."""

    def __init__(self, ledger: Ledger) -> None:
        url = ledger.settings.database_url
        self.sqlite = url.startswith("sqlite:///")
        self.conn: Any
        if self.sqlite:
            self.conn = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
            self.table, self.position = "stored_events", "rowid"
        else:
            self.conn = psycopg.connect(url, autocommit=True)
            self.table, self.position = self._postgres_events_table(), "notification_id"

    def _postgres_events_table(self) -> str:
        """The one table with a `notification_id` column: the application's events."""
        tables = self.conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'notification_id'"
        ).fetchall()
        assert [t[0] for t in tables] == ["rems_events"]
        return "rems_events"

    def execute(self, statement: str, *params: Any) -> list[Any]:
        """Run one statement; its rows, if any."""
        if not self.sqlite:
            statement = statement.replace("?", "%s")
        cursor = self.conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []

    def _key(self, aggregate: UUID) -> str | UUID:
        return aggregate.hex if self.sqlite else aggregate

    def rows(self, aggregate: UUID) -> list[Row]:
        """An aggregate's rows in log order."""
        found = self.execute(
            f"SELECT {self.position}, originator_version, topic, state FROM {self.table} "
            f"WHERE originator_id = ? ORDER BY {self.position}",
            self._key(aggregate),
        )
        return [Row(p, aggregate, v, t, bytes(s)) for p, v, t, s in found]

    def positions(self) -> list[int]:
        """Every log position, in order."""
        return [r[0] for r in self.execute(f"SELECT {self.position} FROM {self.table} ORDER BY 1")]

    def aggregate_count(self) -> int:
        """How many distinct aggregates have a row."""
        [(count,)] = self.execute(f"SELECT COUNT(DISTINCT originator_id) FROM {self.table}")
        return int(count)

    def set_state(self, position: int, state: bytes) -> None:
        """Overwrite a row's state bytes."""
        self.execute(
            f"UPDATE {self.table} SET state = ? WHERE {self.position} = ?", state, position
        )

    def set_topic(self, position: int, topic: str) -> None:
        """Overwrite a row's topic."""
        self.execute(
            f"UPDATE {self.table} SET topic = ? WHERE {self.position} = ?", topic, position
        )

    def set_version(self, position: int, version: int) -> None:
        """Overwrite a row's version."""
        self.execute(
            f"UPDATE {self.table} SET originator_version = ? WHERE {self.position} = ?",
            version,
            position,
        )

    def delete(self, position: int) -> None:
        """Delete one row."""
        self.execute(f"DELETE FROM {self.table} WHERE {self.position} = ?", position)

    def insert(self, aggregate: UUID, version: int, topic: str, state: bytes) -> int:
        """Append a row as a forger would (the database assigns its position)."""
        self.execute(
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            self._key(aggregate),
            version,
            topic,
            state,
        )
        return max(self.positions())


@pytest.fixture
def raw(any_ledger: Ledger) -> Iterator[RawStore]:
    """Direct access to the ledger's event table."""
    store = RawStore(any_ledger)
    yield store
    store.conn.close()


def patient(patient_id: str) -> UUID:
    """A patient's aggregate ID."""
    return aggregate_id("patient", patient_id)


def build_program(ledger: Ledger) -> dict[str, str]:
    """Three patients: M1 and F1 authorized, confirmed and dispensed; M2 only authorized (its
    last event is the `AuthorizationIssued`). The ledger verifies before any tampering."""
    p = Program(ledger).participants()
    p.ready_male("M1")
    p.fill("M1")
    p.ready_frp("F1")
    p.fill("F1")
    p.ready_male("M2")
    auth = p.authorize("M2")
    assert auth["ok"], auth
    report = verify(ledger)
    assert report.ok, report.problems
    return {"M2_authorization": auth["authorization_number"]}


def found(
    ledger: Ledger, digest: str | None = None
) -> set[tuple[ProblemKind, UUID | None, int | None]]:
    """`verify`'s problems as (kind, aggregate, position), asserting it is not ok."""
    report = verify(ledger, digest=digest)
    assert not report.ok
    return {(p.kind, p.aggregate_id, p.position) for p in report.problems}


def flip_one_byte(state: bytes, text: bytes, replacement: bytes) -> bytes:
    """The state with the first byte of `text` replaced (one byte changed)."""
    at = state.index(text)
    return state[:at] + replacement + state[at + 1 :]


def rehashed(aggregate: UUID, version: int, state: dict[str, Any], topic: str) -> bytes:
    """A state whose `hash` a forger recomputed so it matches its (changed) content."""
    return orjson.dumps({**state, "hash": stored_event_hash(aggregate, version, state, topic)})


# ------------------------------------------------------------------------ untampered


def test_verify_is_ok_on_an_untampered_program(any_ledger: Ledger, raw: RawStore) -> None:
    """An untouched ledger verifies: every row read, every aggregate counted, no problem."""
    build_program(any_ledger)
    report = verify(any_ledger)
    positions = raw.positions()
    assert report.ok, report.problems
    assert report.problems == []
    assert report.events_checked == len(positions)
    assert report.position == positions[-1]
    assert report.aggregates == raw.aggregate_count()


def test_a_gap_in_log_positions_is_not_tampering(any_ledger: Ledger, raw: RawStore) -> None:
    """A rolled-back insert leaves a hole in PostgreSQL's notification IDs (its sequence is not
    transactional); positions need not be contiguous, so the ledger still verifies."""
    build_program(any_ledger)
    first = raw.rows(patient("M1"))[0]
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        raw.insert(patient("M1"), 1, first.topic, first.state)
    end = raw.positions()[-1]
    Program(any_ledger, start=any_ledger.last_recorded_at).advance(days=1).survey("F1")
    if not raw.sqlite:
        assert raw.positions()[-1] == end + 2
    report = verify(any_ledger)
    assert report.ok, report.problems
    assert report.position == raw.positions()[-1]


# ------------------------------------------------------------------------ tampering


def test_one_altered_byte_is_reported_as_altered_at_its_position(
    any_ledger: Ledger, raw: RawStore
) -> None:
    """Changing one letter of an enrolled patient's name is `altered` at exactly that row."""
    build_program(any_ledger)
    enrolled = raw.rows(patient("M1"))[0]
    raw.set_state(enrolled.position, flip_one_byte(enrolled.state, b"Pat Test", b"B"))
    assert found(any_ledger) == {(ProblemKind.ALTERED, patient("M1"), enrolled.position)}


def test_a_byte_that_breaks_the_json_is_reported_as_unreadable(
    any_ledger: Ledger, raw: RawStore
) -> None:
    """A state that is no longer JSON is `unreadable` at its row, and nothing else is blamed."""
    build_program(any_ledger)
    second = raw.rows(patient("F1"))[1]
    raw.set_state(second.position, b"[" + second.state[1:])
    assert found(any_ledger) == {(ProblemKind.UNREADABLE, patient("F1"), second.position)}


def test_a_deleted_middle_event_is_a_missing_version_where_the_log_jumps(
    any_ledger: Ledger, raw: RawStore
) -> None:
    """Deleting v2 of a patient leaves v3 with nothing before it: `missing_version` v2, at v3."""
    build_program(any_ledger)
    rows = raw.rows(patient("M1"))
    raw.delete(rows[1].position)
    report = verify(any_ledger)
    assert not report.ok
    [problem] = report.problems
    assert (problem.kind, problem.aggregate_id, problem.version, problem.position) == (
        ProblemKind.MISSING_VERSION,
        patient("M1"),
        2,
        rows[2].position,
    )


def test_two_swapped_states_are_altered_and_unchained_at_both_positions(
    any_ledger: Ledger, raw: RawStore
) -> None:
    """Swapping the states of v2 and v3 makes both rows `altered` and `chain_broken`."""
    build_program(any_ledger)
    rows = raw.rows(patient("F1"))
    second, third = rows[1], rows[2]
    raw.set_state(second.position, third.state)
    raw.set_state(third.position, second.state)
    problems = found(any_ledger)
    for row in (second, third):
        assert (ProblemKind.ALTERED, patient("F1"), row.position) in problems
        assert (ProblemKind.CHAIN_BROKEN, patient("F1"), row.position) in problems
    assert {aggregate for _, aggregate, _ in problems} == {patient("F1")}


def test_two_swapped_versions_are_out_of_order(any_ledger: Ledger, raw: RawStore) -> None:
    """Swapping the versions of two rows puts v3 before v2 in the log: `out_of_order` at the
    later row, and both rows' content no longer matches their hashes."""
    build_program(any_ledger)
    rows = raw.rows(patient("F1"))
    second, third = rows[1], rows[2]
    raw.set_version(second.position, -1)
    raw.set_version(third.position, 2)
    raw.set_version(second.position, 3)
    problems = found(any_ledger)
    assert (ProblemKind.OUT_OF_ORDER, patient("F1"), third.position) in problems
    assert (ProblemKind.ALTERED, patient("F1"), second.position) in problems
    assert (ProblemKind.ALTERED, patient("F1"), third.position) in problems
    assert ProblemKind.MISSING_VERSION not in {kind for kind, _, _ in problems}


@pytest.mark.parametrize("forger_rehashes", [False, True], ids=["copied", "rehashed"])
def test_an_inserted_event_with_a_wrong_previous_hash_is_reported(
    any_ledger: Ledger, raw: RawStore, forger_rehashes: bool
) -> None:
    """A row copied onto the end of a patient's chain breaks the chain at its position, whether
    or not the forger recomputed its own hash."""
    build_program(any_ledger)
    rows = raw.rows(patient("M1"))
    copied, version = rows[1], rows[-1].version + 1
    state = (
        rehashed(patient("M1"), version, copied.json, copied.topic)
        if forger_rehashes
        else copied.state
    )
    position = raw.insert(patient("M1"), version, copied.topic, state)
    expected = {(ProblemKind.CHAIN_BROKEN, patient("M1"), position)}
    if not forger_rehashes:
        expected.add((ProblemKind.ALTERED, patient("M1"), position))
    assert found(any_ledger) == expected


def test_a_deleted_tail_authorization_is_an_orphan_claim(any_ledger: Ledger, raw: RawStore) -> None:
    """Deleting the `AuthorizationIssued` at the end of a patient's chain leaves its number
    claimed for nobody: `orphan_claim` on the patient, at the claim's position; a digest
    published before also no longer matches."""
    numbers = build_program(any_ledger)
    digest = compute_digest(any_ledger).text
    last = raw.rows(patient("M2"))[-1]
    assert last.topic.endswith(":AuthorizationIssued")
    [claim] = raw.rows(aggregate_id("authorization", numbers["M2_authorization"]))
    raw.delete(last.position)
    assert found(any_ledger) == {(ProblemKind.ORPHAN_CLAIM, patient("M2"), claim.position)}
    assert found(any_ledger, digest) == {
        (ProblemKind.ORPHAN_CLAIM, patient("M2"), claim.position),
        (ProblemKind.DIGEST_MISMATCH, None, parse_digest(digest)[0]),
    }


def test_a_deleted_number_claim_is_an_unclaimed_number(any_ledger: Ledger, raw: RawStore) -> None:
    """Deleting the claim of an authorization number leaves the decision `unclaimed_number`."""
    numbers = build_program(any_ledger)
    [claim] = raw.rows(aggregate_id("authorization", numbers["M2_authorization"]))
    issued = raw.rows(patient("M2"))[-1]
    raw.delete(claim.position)
    assert found(any_ledger) == {(ProblemKind.UNCLAIMED_NUMBER, patient("M2"), issued.position)}


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("domain.decision_events:AuthorizationDenied", ProblemKind.INVALID_EVENT),
        ("domain.decision_events:NoSuchEvent", ProblemKind.UNKNOWN_TOPIC),
        ("os:system", ProblemKind.UNKNOWN_TOPIC),
    ],
    ids=["another-event", "missing-class", "not-an-event"],
)
def test_a_changed_topic_is_reported(
    any_ledger: Ledger, raw: RawStore, topic: str, kind: ProblemKind
) -> None:
    """The topic is not hashed, so a changed topic is caught by reading the state as the event
    it names (or failing to find one)."""
    build_program(any_ledger)
    last = raw.rows(patient("M2"))[-1]
    raw.set_topic(last.position, topic)
    assert (kind, patient("M2"), last.position) in found(any_ledger)


def test_rows_the_recorder_cannot_convert_are_unreadable_and_reading_goes_on(
    ledger: Ledger,
) -> None:
    """On SQLite (untyped columns) a row whose aggregate ID is not a UUID, or whose version is
    not a number, is `unreadable` at its position, and the rows after it are still checked."""
    build_program(ledger)
    raw = RawStore(ledger)
    try:
        raw.execute("INSERT INTO stored_events VALUES ('junk', 1, 'domain.x:Y', x'7b7d')")
        junk = raw.positions()[-1]
        raw.execute(
            "INSERT INTO stored_events VALUES (?, 'two', 'domain.x:Y', x'7b7d')",
            patient("M1").hex,
        )
        wordy = raw.positions()[-1]
        Program(ledger, start=ledger.last_recorded_at).advance(days=1).survey("F1")
        report = verify(ledger)
        assert {(p.kind, p.aggregate_id, p.position) for p in report.problems} == {
            (ProblemKind.UNREADABLE, None, junk),
            (ProblemKind.UNREADABLE, None, wordy),
        }
        assert report.events_checked == len(raw.positions())
        assert report.position == raw.positions()[-1] > wordy
        digest = compute_digest(ledger, junk - 1)
        assert verify(ledger, digest=digest.text).problems == report.problems
        assert compute_digest(ledger, junk) != compute_digest(ledger, junk - 1)
    finally:
        raw.conn.close()


def test_a_compressed_store_is_decoded_and_a_damaged_byte_is_unreadable(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the mapper's compressor on, states are decompressed before hashing (the ledger
    verifies), and a damaged compressed byte is `unreadable` at its row."""
    monkeypatch.setenv("COMPRESSOR_TOPIC", "eventsourcing.compressor:ZlibCompressor")
    ledger = make_ledger(sqlite_url)
    raw = RawStore(ledger)
    try:
        assert ledger.mapper.compressor is not None
        build_program(ledger)
        enrolled = raw.rows(patient("M1"))[0]
        assert not enrolled.state.startswith(b"{")
        damaged = enrolled.state[:-1] + bytes([enrolled.state[-1] ^ 0xFF])
        raw.set_state(enrolled.position, damaged)
        assert found(ledger) == {(ProblemKind.UNREADABLE, patient("M1"), enrolled.position)}
    finally:
        raw.conn.close()
        ledger.close()


# ------------------------------------------------------------------------ digests


def test_digest_is_stable_when_nothing_changed(any_ledger: Ledger, raw: RawStore) -> None:
    """Two digests of an unchanged ledger are equal, and the published one verifies."""
    build_program(any_ledger)
    first, second = compute_digest(any_ledger), compute_digest(any_ledger)
    assert first == second
    assert first.position == raw.positions()[-1]
    assert first.text.startswith(f"rems-digest-v1:{first.position}:")
    assert verify(any_ledger, digest=first.text).ok


def test_digest_taken_before_an_append_still_verifies_after_it(
    any_ledger: Ledger, raw: RawStore
) -> None:
    """A digest covers the log up to its position: later appends change the latest digest but
    not the one published, which still verifies."""
    build_program(any_ledger)
    before = compute_digest(any_ledger)
    program = Program(any_ledger, start=any_ledger.last_recorded_at)
    program.advance(days=1).survey("F1")
    assert raw.positions()[-1] > before.position
    assert compute_digest(any_ledger) != before
    assert compute_digest(any_ledger, before.position) == before
    report = verify(any_ledger, digest=before.text)
    assert report.ok, report.problems


@pytest.mark.parametrize("tamper", ["tail-deleted", "head-rehashed"])
def test_what_no_chain_can_see_is_a_digest_mismatch(
    any_ledger: Ledger, raw: RawStore, tamper: str
) -> None:
    """Deleting a patient's last event, or re-hashing a forged last event, leaves every chain
    intact; only the published digest catches it."""
    build_program(any_ledger)
    digest = compute_digest(any_ledger).text
    last = raw.rows(patient("F1"))[-1]
    assert last.topic.endswith(":DispenseRecorded")
    if tamper == "tail-deleted":
        raw.delete(last.position)
    else:
        forged = {**last.json, "capsules": 56}
        raw.set_state(last.position, rehashed(patient("F1"), last.version, forged, last.topic))
    assert verify(any_ledger).ok
    assert found(any_ledger, digest) == {
        (ProblemKind.DIGEST_MISMATCH, None, parse_digest(digest)[0])
    }


def test_a_digest_beyond_the_end_of_the_log_is_an_error(any_ledger: Ledger, raw: RawStore) -> None:
    """No digest can be computed past the log's end, and verifying one that claims to be there
    fails (the log was cut, or the digest is another ledger's)."""
    build_program(any_ledger)
    end = raw.positions()[-1]
    with pytest.raises(ValueError, match="beyond the end of the log"):
        compute_digest(any_ledger, end + 1)
    beyond = f"rems-digest-v1:{end + 5}:{'0' * 64}"
    assert found(any_ledger, beyond) == {(ProblemKind.DIGEST_BEYOND_END, None, end + 5)}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "rems-digest-v1:12",
        "rems-digest-v2:12:" + "a" * 64,
        "rems-digest-v1:x:" + "a" * 64,
        "rems-digest-v1:12:" + "a" * 63,
    ],
)
def test_a_malformed_digest_is_a_value_error_naming_the_format(text: str) -> None:
    """A malformed digest is refused with the expected format in the message."""
    with pytest.raises(ValueError, match="expected rems-digest-v1:POSITION:SHA256"):
        parse_digest(text)
