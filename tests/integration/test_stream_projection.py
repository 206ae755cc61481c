"""The projection consumer (issue 5, point 3): the eligibility read model rebuilt from the topics.

A simulated program is relayed to the real broker and consumed into a separate database; every
patient's answer computed from those rows equals the ledger's own. The events are rebuilt from
pseudonymous envelopes (placeholders for what is withheld, a placeholder birth date) and
folded in aggregate order even when the topics interleave; rows are keyed by the patients'
keyed pseudonyms, which the ledger side maps from program IDs with the same key.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from application.ledger import Ledger
from application.queries import eligibility_answer
from application.views import Views
from consumers.envelope import (
    TOPICS,
    envelope,
    topic_for,
    topic_for_class,
)
from consumers.pseudonyms import Pseudonyms
from consumers.rebuild import (
    ADULT_DATE_OF_BIRTH,
    PLACEHOLDER,
    RebuildError,
    event_classes,
    rebuild_event,
)
from consumers.stream_projection import (
    PROJECTION_TOPICS,
    StreamProjection,
    StreamProjectionConsumer,
)
from domain.base import LedgerEvent
from domain.patient_events import PatientEnrolled, PregnancyReportResolved
from domain.registry import aggregate_id
from entrypoints.cli.kafka import build_relay
from infra.views import ViewDatabase
from projections.eligibility import load_participant, load_patient
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.kafka_helpers import start_at_end
from tests.program import Program

DEMO_PATIENTS = 30
PSEUDONYMS = Pseudonyms(b"k" * 32)
COMPARED = ("eligible", "risk_category", "initial", "reasons", "next_due")


def _published(ledger: Ledger) -> list[LedgerEvent]:
    events = [event for _, event in ledger.notifications.events(1, 1_000_000)]
    return [e for e in events if topic_for(e) is not None]


@pytest.mark.kafka
def test_eligibility_from_the_stream_equals_the_ledgers_own_for_every_patient(
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    """Every patient of a simulated program gets the same eligibility answer (eligible,
    category, initial, reasons, what is due) from rows built from the topics alone as from the
    ledger's own read model, at the ledger's last recorded time."""
    ledger = make_ledger(f"sqlite:///{tmp_path / 'rems.db'}")
    group = f"test.projection.{uuid.uuid4().hex[:10]}"
    store = ViewDatabase(f"sqlite:///{tmp_path / 'stream.db'}")
    views = Views(ledger)
    try:
        run_demo(ledger, patients=DEMO_PATIENTS)
        start_at_end(kafka_bootstrap, group, PROJECTION_TOPICS)
        relay, relay_db = build_relay(ledger, kafka_bootstrap)
        pseudonyms = relay.pseudonyms
        try:
            relay.drain()
        finally:
            relay.close(timeout=10)
            relay_db.close()
        consumer = StreamProjectionConsumer(kafka_bootstrap, store, group_id=group)
        try:
            taken = consumer.subscriber.drain(180.0)  # a loaded machine is slow
        finally:
            consumer.close()
        assert taken == len(_published(ledger))
        assert consumer.subscriber.stats.dead_lettered == 0

        now = ledger.last_recorded_at
        assert now is not None
        at = views.decision_time(now)
        patient_ids = ["PT-LAPSED", *[f"PT-{n:05d}" for n in range(1, DEMO_PATIENTS + 1)]]
        with store.transaction() as cursor:
            assert consumer.projection.parked(cursor) == 0
            rows = {pid: load_patient(cursor, pseudonyms.of_patient(pid)) for pid in patient_ids}
            prescribers = {
                pid: load_participant(cursor, str(aggregate_id("prescriber", row.prescriber_id)))
                for pid, row in rows.items()
                if row is not None
            }
        for pid in patient_ids:
            row = rows[pid]
            assert row is not None, pid
            assert row.patient_id == pseudonyms.of_patient(pid)  # the pseudonym only
            from_stream = eligibility_answer(row, prescribers[pid], at)
            from_ledger = views.eligibility(pid, now)
            assert {k: from_stream[k] for k in COMPARED} == {k: from_ledger[k] for k in COMPARED}, (
                pid
            )
    finally:
        views.close()
        store.close()
        ledger.close()


def test_events_are_folded_in_aggregate_order_whatever_order_the_topics_deliver(
    ledger: Ledger, backend_url: str
) -> None:
    """A patient's decisions consumed before the facts they followed (another topic) are
    parked until the missing versions arrive; the folded row equals the ledger's state (on
    SQLite and PostgreSQL)."""
    program = Program(ledger).participants().ready_frp("PAT1")
    program.fill("PAT1")
    program.advance(days=20)
    assert program.test("PAT1")["ok"]
    program.survey("PAT1")
    program.fill("PAT1")
    messages = [envelope(e, n, PSEUDONYMS) for n, e in enumerate(_published(ledger), start=1)]
    decisions_first = sorted(
        messages,
        key=lambda m: (
            topic_for_class(event_classes()[m.type]) != TOPICS["decisions"],
            -m.position,
        ),
    )

    projection = StreamProjection()
    store = ViewDatabase(backend_url)
    try:
        with store.transaction() as cursor:
            projection.create_tables(cursor)
            for message in decisions_first[:5]:
                projection.handle(message, cursor)
            assert projection.parked(cursor) == 5
            for message in [*decisions_first[5:], *messages]:  # then everything, repeated
                projection.handle(message, cursor)
            assert projection.parked(cursor) == 0
            row = load_patient(cursor, PSEUDONYMS.of_patient("PAT1"))
    finally:
        store.close()
    live = ledger.patient_state("PAT1")
    assert row is not None
    assert live is not None
    ignored = {"id", "patient_id", "date_of_birth", "head_hash"}  # id: the pseudonym
    assert row.model_dump(exclude=ignored) == live.model_dump(exclude=ignored)
    assert row.date_of_birth == ADULT_DATE_OF_BIRTH


def test_rebuilt_events_carry_placeholders_for_withheld_fields(ledger: Ledger) -> None:
    """The pseudonym replaces the program ID, text placeholders replace name, address, phone and
    free text, and an envelope of an unknown type is refused."""
    program = Program(ledger).participants()
    guardian = {"name": "Guardian Test", "signed": True, "signed_on": program.today.isoformat()}
    enrolled_result = program.enroll("PAT1", date_of_birth="2010-06-01", guardian=guardian)
    assert enrolled_result["ok"], enrolled_result
    program.ok(
        "report_pregnancy",
        patient_id="PAT1",
        suspected_on=program.today,
        reported_to_medwatch=True,
        reported_to_rems=True,
    )
    program.ok(
        "resolve_pregnancy_report",
        patient_id="PAT1",
        resolution="not_pregnant",
        evidence="negative serum test at the clinic",
        resolved_on=program.today,
    )
    events = {type(e): e for e in _published(ledger)}
    enrolled = rebuild_event(envelope(events[PatientEnrolled], 1, PSEUDONYMS))
    assert isinstance(enrolled, PatientEnrolled)
    assert enrolled.patient_id == PSEUDONYMS.of_patient("PAT1")
    assert (enrolled.name, enrolled.address, enrolled.phone) == (PLACEHOLDER,) * 3
    assert enrolled.date_of_birth == program.today  # a minor: a placeholder, not the birth date
    assert enrolled.signatures.guardian is not None
    # A form part's text is optional since issue 10 (blank is a missing item, judged at
    # enrollment only): withheld, it is rebuilt as absent, never as the original.
    assert enrolled.signatures.guardian.name is None
    resolved = rebuild_event(envelope(events[PregnancyReportResolved], 3, PSEUDONYMS))
    assert isinstance(resolved, PregnancyReportResolved)
    assert resolved.evidence == PLACEHOLDER
    unknown = envelope(events[PatientEnrolled], 1, PSEUDONYMS).model_copy(
        update={"type": "Unheard"}
    )
    with pytest.raises(RebuildError, match="unknown event type"):
        rebuild_event(unknown)
