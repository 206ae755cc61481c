"""Coming of age on the topics (issue 12, point 2): no date from which a birth date follows is
published in advance; the day a minor's category changes by age is sent as a
`RiskCategoryChangedByAge` message once it has come, and the stream-built eligibility follows it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from application.queries import eligibility_answer
from application.views import Views
from consumers.envelope import AGE_CHANGE_TYPE
from consumers.stream_projection import PROJECTION_TOPICS, StreamProjectionConsumer
from domain.registry import aggregate_id
from entrypoints.cli.kafka import build_relay
from infra.views import ViewDatabase
from projections.eligibility import load_participant, load_patient
from tests.conftest import make_ledger
from tests.integration.test_relay import read_messages
from tests.kafka_helpers import start_at_end
from tests.program import TZ, Program

pytestmark = pytest.mark.kafka

BORN = date(2008, 3, 10)
EIGHTEENTH = date(2026, 3, 10)
COMPARED = ("eligible", "risk_category", "initial", "reasons", "next_due")


def test_R2_a_girls_coming_of_age_is_published_on_the_day_and_the_stream_follows_it(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """A girl recorded as not yet menstruating, enrolled at 17: nothing on the topics names a
    day from which her birth date follows until her 18th birthday has come; then one
    `RiskCategoryChangedByAge` (FNRP child to adult FRP) is published, and the eligibility the
    projection consumer builds from the topics equals the ledger's on that day."""
    ledger = make_ledger(f"sqlite:///{tmp_path / 'rems.db'}")
    group = f"test.age.{uuid.uuid4().hex[:10]}"
    store = ViewDatabase(f"sqlite:///{tmp_path / 'stream.db'}")
    views = Views(ledger)
    try:
        program = Program(ledger).participants()
        guardian = {"name": "Guardian Test", "signed": True, "signed_on": program.today.isoformat()}
        enrolled = program.enroll(
            "GIRL1",
            sex="female",
            date_of_birth=BORN.isoformat(),
            menstruation="not_started",
            guardian=guardian,
        )
        assert enrolled["ok"], enrolled
        start_at_end(kafka_bootstrap, group, PROJECTION_TOPICS)
        relay, relay_db = build_relay(ledger, kafka_bootstrap)
        try:
            relay.drain()
            before = read_messages(kafka_bootstrap)
            program.at("2026-03-09 10:00").survey("GIRL1")  # the day before: still a child
            relay.drain()
            on_the_eve = read_messages(kafka_bootstrap)
            program.at("2026-03-10 10:00").survey("GIRL1")  # her birthday
            relay.drain()
            relay.drain()  # nothing due twice
            pseudonym = relay.pseudonyms.of_patient("GIRL1")
        finally:
            relay.close(timeout=10)
            relay_db.close()
        after = read_messages(kafka_bootstrap)
        consumer = StreamProjectionConsumer(kafka_bootstrap, store, group_id=group)
        try:
            consumer.subscriber.drain(60.0)
        finally:
            consumer.close()
        now = ledger.last_recorded_at
        assert now is not None
        with store.transaction() as cursor:
            row = load_patient(cursor, pseudonym)
            assert row is not None
            prescriber = load_participant(cursor, str(aggregate_id("prescriber", "DR1")))
        from_stream = eligibility_answer(row, prescriber, views.decision_time(now))
        from_ledger = views.eligibility("GIRL1", now)
    finally:
        views.close()
        store.close()
        ledger.close()

    def changes(messages: list) -> list:  # type: ignore[type-arg]
        return [
            m for m in messages if m.key == pseudonym.encode() and m.body["type"] == AGE_CHANGE_TYPE
        ]

    assert changes(before) == changes(on_the_eve) == []
    (change,) = changes(after)
    assert change.topic == "rems.patients"
    assert change.body["payload"] == {
        "previous_risk_category": "female_child_not_reproductive_potential",
        "risk_category": "adult_female_reproductive_potential",
    }
    assert datetime.fromisoformat(change.body["occurred_at"]) == datetime(2026, 3, 10, tzinfo=TZ)
    for message in [m for m in on_the_eve if m.key == pseudonym.encode()]:
        assert EIGHTEENTH.isoformat() not in message.value.decode()  # not before the day
    for message in [m for m in after if m.key == pseudonym.encode()]:
        assert BORN.isoformat() not in message.value.decode()
    assert from_ledger["risk_category"] == "adult_female_reproductive_potential"
    assert {k: from_stream[k] for k in COMPARED} == {k: from_ledger[k] for k in COMPARED}
