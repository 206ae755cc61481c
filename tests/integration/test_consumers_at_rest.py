"""PHI at rest in the consumers' own databases (issue 12): with `REMS_ENCRYPTION_KEY_FILE` the
projection and safety consumers seal what they keep of a patient, their files are mode 0600,
and no birth date, nor a date from which one follows, is kept after a minor comes of age."""

from __future__ import annotations

import stat
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from application.ledger import Ledger
from application.queries import eligibility_answer
from application.views import Views
from consumers.rebuild import ADULT_DATE_OF_BIRTH
from consumers.safety import SAFETY_TOPICS, SafetyConsumer
from consumers.safety_case import CaseKind
from consumers.stream_projection import PROJECTION_TOPICS, StreamProjectionConsumer
from domain.registry import aggregate_id
from entrypoints.cli.kafka import build_relay
from infra.row_cipher import PlainRows, RowCipher, RowCipherError, row_sealer
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from infra.views import ViewDatabase
from projections.eligibility import load_participant, load_patient
from tests.kafka_helpers import start_at_end
from tests.program import TZ, Program

pytestmark = pytest.mark.kafka

BORN = date(2008, 3, 10)
EIGHTEENTH = date(2026, 3, 10)
POSITIVE_ON = date(2026, 3, 11)
GUARDIAN = "Guardian Atrest"
COMPARED = ("eligible", "risk_category", "initial", "reasons", "next_due")


def consumer_files(folder: Path) -> list[Path]:
    """Every SQLite file of the consumers' databases (main, -wal, -shm)."""
    return sorted(p for p in folder.iterdir() if p.name.startswith(("stream.db", "safety.db")))


def test_R2_consumers_seal_their_rows_and_keep_no_date_a_birth_date_follows_from(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """A girl enrolled at 17 comes of age and then tests positive: with a key, both consumers'
    files are 0600 and hold neither her birth date, her 18th birthday nor the test's date in
    clear; the stream row opened with the key carries the adults' placeholder birth date and
    still answers as the ledger does; the safety case opens only with the key."""
    key_file = tmp_path / "keys" / "encryption.key"
    cipher_key = create_encryption_key_file(key_file)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'rems.db'}",
        clock=ClockMode.EVENT,
        timezone=TZ,
        encryption_key_file=key_file,
    )
    ledger = Ledger(settings)
    consumers = tmp_path / "consumers"
    consumers.mkdir()
    stream_store = ViewDatabase(f"sqlite:///{consumers / 'stream.db'}")
    safety_store = ViewDatabase(f"sqlite:///{consumers / 'safety.db'}")
    sealer = row_sealer(cipher_key)
    groups = {name: f"test.at-rest.{name}.{uuid.uuid4().hex[:10]}" for name in ("p", "s")}
    views = Views(ledger)
    try:
        program = Program(ledger).participants()
        guardian = {"name": GUARDIAN, "signed": True, "signed_on": program.today.isoformat()}
        enrolled = program.enroll(
            "GIRL2",
            sex="female",
            date_of_birth=BORN.isoformat(),
            menstruation="not_started",
            guardian=guardian,
        )
        assert enrolled["ok"], enrolled
        start_at_end(kafka_bootstrap, groups["p"], PROJECTION_TOPICS)
        start_at_end(kafka_bootstrap, groups["s"], SAFETY_TOPICS)
        program.at("2026-03-10 10:00").survey("GIRL2")  # her birthday
        positive = datetime(2026, 3, 11, 9, 0, tzinfo=TZ)
        program.at("2026-03-11 10:00").test("GIRL2", collected_at=positive, result="positive")
        relay, relay_db = build_relay(ledger, kafka_bootstrap)
        try:
            relay.drain()
            pseudonym = relay.pseudonyms.of_patient("GIRL2")
        finally:
            relay.close(timeout=10)
            relay_db.close()
        stream = StreamProjectionConsumer(
            kafka_bootstrap, stream_store, group_id=groups["p"], sealer=sealer
        )
        safety = SafetyConsumer(
            kafka_bootstrap, safety_store, group_id=groups["s"], tz=TZ, sealer=sealer
        )
        try:
            stream.subscriber.drain(60.0)
            safety.subscriber.drain(60.0)
        finally:
            stream.close()
            safety.close()
        now = ledger.last_recorded_at
        assert now is not None
        with stream_store.transaction() as cursor:
            with pytest.raises(RowCipherError):
                load_patient(cursor, pseudonym, PlainRows())  # sealed: refused without the key
            row = load_patient(cursor, pseudonym, sealer)
            prescriber = load_participant(cursor, str(aggregate_id("prescriber", "DR1")))
        assert row is not None
        from_stream = eligibility_answer(row, prescriber, views.decision_time(now))
        from_ledger = views.eligibility("GIRL2", now)
        with safety_store.transaction() as cursor:
            cases = [c for c in safety.cases(cursor) if c.patient == pseudonym]
    finally:
        views.close()
        stream_store.close()
        safety_store.close()
        ledger.close()

    assert isinstance(sealer, RowCipher)
    assert row.date_of_birth == ADULT_DATE_OF_BIRTH
    assert {k: from_stream[k] for k in COMPARED} == {k: from_ledger[k] for k in COMPARED}
    assert [(c.kind, c.event_date) for c in cases] == [(CaseKind.POSITIVE_TEST, POSITIVE_ON)]
    files = consumer_files(consumers)
    assert {p.name for p in files} >= {"stream.db", "safety.db"}
    secrets = [BORN.isoformat(), EIGHTEENTH.isoformat(), POSITIVE_ON.isoformat(), GUARDIAN]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        content = path.read_bytes()
        assert not [s for s in secrets if s.encode() in content], path.name


def test_R2_without_a_key_the_stream_row_still_keeps_no_birth_date(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Without a key the rows are in clear, but after the coming of age the stream row's birth
    date is the adults' placeholder, not the girl's birth date."""
    ledger = Ledger(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'rems.db'}", clock=ClockMode.EVENT, timezone=TZ
        )
    )
    store = ViewDatabase(f"sqlite:///{tmp_path / 'stream.db'}")
    group = f"test.at-rest.plain.{uuid.uuid4().hex[:10]}"
    try:
        program = Program(ledger).participants()
        guardian = {"name": GUARDIAN, "signed": True, "signed_on": program.today.isoformat()}
        assert program.enroll(
            "GIRL3",
            sex="female",
            date_of_birth=BORN.isoformat(),
            menstruation="not_started",
            guardian=guardian,
        )["ok"]
        start_at_end(kafka_bootstrap, group, PROJECTION_TOPICS)
        program.at("2026-03-10 10:00").survey("GIRL3")
        relay, relay_db = build_relay(ledger, kafka_bootstrap)
        try:
            relay.drain()
            pseudonym = relay.pseudonyms.of_patient("GIRL3")
        finally:
            relay.close(timeout=10)
            relay_db.close()
        consumer = StreamProjectionConsumer(kafka_bootstrap, store, group_id=group)
        try:
            consumer.subscriber.drain(60.0)
        finally:
            consumer.close()
        with store.transaction() as cursor:
            row = load_patient(cursor, pseudonym)
    finally:
        store.close()
        ledger.close()
    assert row is not None
    assert row.date_of_birth == ADULT_DATE_OF_BIRTH
    content = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("stream"))
    assert BORN.isoformat().encode() not in content
