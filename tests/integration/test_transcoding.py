"""The pydantic + orjson mapper (infra/transcoding.py): exact round trips and class_version upcasts.

Round trips are checked twice: by hand-built events through the mapper alone, and for every event
class of `domain/` by a program that produces each of them, comparing every event as it was saved
with the same event read back from the real store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic

import domain
from application.ledger import Ledger
from domain.base import LedgerEvent
from domain.decision_events import AuthorizationIssued, DispenseDenied
from domain.forms import ReproductiveFacts, Signatures
from domain.patient_events import PatientEnrolled
from domain.reasons import Reason
from domain.values import Channel, Language, Menstruation, RiskCategory, Sex
from infra.settings import ClockMode, Settings
from infra.transcoding import OrjsonTranscoder, PydanticMapper
from tests.program import TZ, Program, local

MAPPER = PydanticMapper(transcoder=OrjsonTranscoder())
RECORDED = local("2026-03-13 09:30")


def round_trip(event: LedgerEvent) -> LedgerEvent:
    """The event after the mapper stored it and read it back."""
    return MAPPER.to_domain_event(MAPPER.to_stored_event(event))  # type: ignore[return-value]  # the mapper returns the protocol type


def stored_state(event: LedgerEvent) -> dict[str, Any]:
    """The decoded state bytes the mapper writes for an event."""
    state: dict[str, Any] = orjson.loads(MAPPER.to_stored_event(event).state)
    return state


def common(**overrides: Any) -> dict[str, Any]:
    """The base fields of a ledger event."""
    return {
        "originator_id": uuid4(),
        "originator_version": 3,
        "timestamp": RECORDED,
        "occurred_at": RECORDED - timedelta(hours=2),
        "actor": "test",
        "command_id": "cmd-7",
        **overrides,
    }


# ------------------------------------------------------------------------ hand-built events


def test_patient_enrolled_round_trips_with_dates_enums_and_nested_forms() -> None:
    """PatientEnrolled comes back equal, with its date, enums and nested form models typed."""
    event = PatientEnrolled(
        **common(),
        patient_id="F1",
        prescriber_id="DR1",
        name="Fay Test",
        address="3 Elm St",
        phone="555-0199",
        date_of_birth=date(1990, 5, 1),
        sex=Sex.FEMALE,
        diagnosis_icd10="D46.C",
        language=Language.PORTUGUESE,
        facts=ReproductiveFacts(menstruation=Menstruation.MENOPAUSE, natural_menopause_months=30),
        signatures=Signatures(
            patient_signed=True, prescriber_signed=True, all_statements_marked=True
        ),
        enrollment=2,
        risk_category=RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL,
    )
    back = round_trip(event)
    assert back == event
    assert isinstance(back, PatientEnrolled)
    assert back.date_of_birth == date(1990, 5, 1)
    assert back.sex is Sex.FEMALE
    assert back.language is Language.PORTUGUESE
    assert back.risk_category is RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL
    assert isinstance(back.facts, ReproductiveFacts)
    assert back.facts.menstruation is Menstruation.MENOPAUSE
    assert back.event_id == event.event_id
    assert back.originator_id == event.originator_id
    assert back.originator_version == 3
    state = stored_state(event)
    assert "originator_id" not in state
    assert "originator_version" not in state
    assert "class_version" not in state  # version 1 writes no class_version


def test_authorization_issued_round_trips_its_instants_and_enums() -> None:
    """AuthorizationIssued keeps `expires_at` as the same aware instant with its offset, and the
    risk category and channel as enum members."""
    expires = datetime(2026, 3, 20, 23, 59, 59, tzinfo=TZ)
    event = AuthorizationIssued(
        **common(timestamp=datetime(2026, 3, 13, 9, 30, 0, 123456, tzinfo=TZ)),
        ruleset_version="2026.1",
        inputs={"patient_version": 6, "last_negative_test_collected_at": "2026-03-13T07:00:00"},
        authorization_number="RA-7K3M-9QXD-2HFP",
        prescriber_id="DR1",
        risk_category=RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL,
        daily_dose_mg=2.5,
        days_supply=28,
        refills=0,
        channel=Channel.FAX,
        expires_at=expires,
        initial=True,
    )
    back = round_trip(event)
    assert back == event
    assert isinstance(back, AuthorizationIssued)
    assert back.expires_at == expires
    assert back.expires_at.utcoffset() == timedelta(hours=-4)
    assert back.expires_at.isoformat() == "2026-03-20T23:59:59-04:00"
    assert back.timestamp.microsecond == 123456
    assert back.channel is Channel.FAX
    assert back.risk_category is RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL
    assert back.daily_dose_mg == 2.5
    assert back.inputs == event.inputs


def test_dispense_denied_round_trips_its_reasons() -> None:
    """DispenseDenied comes back with its reasons as a tuple of Reason models, in order."""
    reasons = (
        Reason(rule="D1", message="The REMS cannot confirm this dispense."),
        Reason(rule="A2", message="Authorization expired on 2026-03-20 — “quotes” too."),
    )
    event = DispenseDenied(
        **common(),
        ruleset_version="2026.1",
        inputs={"patient_version": 9, "pharmacy_version": None, "days_supply": 28},
        stage="confirmation",
        pharmacy_id="PH1",
        authorization_number="RA-7K3M-9QXD-2HFP",
        reasons=reasons,
    )
    back = round_trip(event)
    assert back == event
    assert isinstance(back, DispenseDenied)
    assert back.reasons == reasons
    assert all(isinstance(r, Reason) for r in back.reasons)
    assert back.confirmation_number is None


def test_unreadable_state_is_a_mapper_deserialisation_error() -> None:
    """Bytes that are not JSON raise MapperDeserialisationError naming the stored event."""
    stored = StoredEvent(
        originator_id=uuid4(), originator_version=1, topic=get_topic(PatientEnrolled), state=b"{"
    )
    with pytest.raises(MapperDeserialisationError, match="PatientEnrolled"):
        MAPPER.to_domain_event(stored)


# ------------------------------------------------------------------------ every event class


class RecordingLedger(Ledger):
    """The ledger, also keeping every event it saves (a test seam, not a mock)."""

    name = "rems"  # the same store tables as the real ledger

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.saved: list[Any] = []
        super().__init__(*args, **kwargs)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save as the ledger does, keeping the events."""
        self.saved.extend(objs)
        return super().save(*objs, **kwargs)


def domain_event_classes() -> set[type[LedgerEvent]]:
    """Every concrete (leaf) event class defined in the `domain` package."""
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        importlib.import_module(module.name)
    found: set[type[LedgerEvent]] = set()
    pending: list[type[LedgerEvent]] = [LedgerEvent]
    while pending:
        cls = pending.pop()
        subclasses = [c for c in cls.__subclasses__() if c.__module__.startswith("domain.")]
        if not subclasses and cls is not LedgerEvent:
            found.add(cls)
        pending.extend(subclasses)
    return found


def every_kind_of_event(p: Program) -> None:
    """A program that produces every event class of the domain at least once."""
    p.participants()
    p.prescriber("DR2")
    p.ok("suspend_pharmacy", pharmacy_id="PH1", reason="inspection")
    p.prescriber("DR3")
    p.ok("suspend_prescriber", prescriber_id="DR3", reason="audit")
    p.pharmacy()  # re-certification
    p.ready_frp("F1")
    first = p.authorize("F1", command_id="first-rx")
    assert first["ok"], first
    second = p.authorize("F1")  # voids the first (AuthorizationVoided)
    assert second["voided"] == [first["authorization_number"]]
    confirmation = p.confirm(second["authorization_number"], "F1")
    assert confirmation["ok"], confirmation
    third = p.authorize("F1")  # voids the open confirmation (ConfirmationVoided)
    assert third["voided"] == [confirmation["confirmation_number"]]
    assert p.dispense(confirmation["confirmation_number"])["error"]["code"] == "denied"
    assert p.authorize("F1", channel="telephone")["error"]["code"] == "denied"
    fill = p.confirm(third["authorization_number"], "F1")
    assert p.dispense(fill["confirmation_number"])["ok"]
    p.ok("update_reproductive_status", patient_id="F1", menstruation="irregular")
    p.ok("change_prescriber", patient_id="F1", prescriber_id="DR2")
    p.ok("record_cbc", patient_id="F1", collected_at=p.now)
    p.ok("record_capsule_return", patient_id="F1", capsules=3, returned_to="pharmacy")
    p.ok("discontinue_therapy", patient_id="F1", last_dose_on=p.today, reason="toxicity")
    p.ok("record_menstrual_abnormality", patient_id="F1", noted_on=p.today)
    p.ok(
        "report_pregnancy",
        patient_id="F1",
        suspected_on=p.today,
        reported_to_medwatch=True,
        reported_to_rems=False,
    )
    p.ok(
        "resolve_pregnancy_report",
        patient_id="F1",
        resolution="not_pregnant",
        evidence="negative serum hCG",
        resolved_on=p.today,
    )
    # E8: the same person enrolled again under D1, found to be the same person.
    assert p.enroll("D1", name="PAT TEST f1")["possible_duplicate"] is True
    p.ok(
        "review_possible_duplicate",
        patient_id="D1",
        other_patient_id="F1",
        finding="same_person",
        evidence="same insurance member number",
    )


@pytest.fixture
def recording_ledger(backend_url: str) -> Iterator[RecordingLedger]:
    """A recording ledger on each backend (event clock, New York)."""
    ledger = RecordingLedger(Settings(database_url=backend_url, clock=ClockMode.EVENT, timezone=TZ))
    yield ledger
    ledger.close()


def test_every_domain_event_class_reads_back_from_the_store_equal_to_what_was_saved(
    recording_ledger: RecordingLedger,
) -> None:
    """Every event class of `domain/` is produced, stored and read back from the real store equal
    to the live event, and re-encoding what was read gives the same bytes."""
    every_kind_of_event(Program(recording_ledger))
    saved = recording_ledger.saved
    assert {type(e) for e in saved} == domain_event_classes()

    stored = {
        (e.originator_id, e.originator_version): e
        for _, e in recording_ledger.notifications.events(1, 100_000)
    }
    assert len(stored) == len(saved)
    for live in saved:
        back = stored[(live.originator_id, live.originator_version)]
        assert type(back) is type(live)
        assert back == live, type(live).__name__
        assert recording_ledger.mapper.to_stored_event(back).state == (
            recording_ledger.mapper.to_stored_event(live).state
        )


# ------------------------------------------------------------------------ class_version upcasting


class NotedV1(LedgerEvent):
    """The first schema of a test-only event: a note's text."""

    text: str


class Noted(LedgerEvent):
    """The current schema (v3) of the same event: `text` renamed `note` and a `priority` added
    in v2, `tags` added in v3; older stored versions are upcast on read."""

    class_version: ClassVar[int] = 3

    note: str
    priority: int
    tags: tuple[str, ...]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v1 -> v2: `text` became `note`; every old note had normal priority."""
        state["note"] = state.pop("text")
        state["priority"] = 0

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """v2 -> v3: notes had no tags."""
        state["tags"] = []


def stored_as(event: LedgerEvent, topic_of: type[LedgerEvent], version: int | None) -> StoredEvent:
    """The event as an older build stored it: its state under another class's topic, with the
    given `class_version` (None: none written, i.e. version 1)."""
    state: dict[str, Any] = orjson.loads(MAPPER.to_stored_event(event).state)
    state.pop("class_version", None)
    if version is not None:
        state["class_version"] = version
    return StoredEvent(
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=get_topic(topic_of),
        state=orjson.dumps(state),
    )


def test_current_version_writes_class_version_and_reads_back_unchanged() -> None:
    """An event of class_version 3 is stored with `class_version: 3` and read back as is."""
    event = Noted(**common(originator_version=1), note="hello", priority=2, tags=("a",))
    assert stored_state(event)["class_version"] == 3
    assert round_trip(event) == event


def test_stored_v1_and_v2_events_are_upcast_to_the_current_class(any_ledger: Ledger) -> None:
    """Stored v1 and v2 states of `Noted` in the real store are read back as v3 events, upcast one
    step at a time, with their identity, times and metadata kept."""
    aggregate = UUID("6f0b6a3e-1111-4c2b-9d7e-6a1c2f0e7b41")
    v1 = NotedV1(**common(originator_id=aggregate, originator_version=1), text="old note")
    v2_state = Noted(
        **common(originator_id=aggregate, originator_version=2),
        note="middle note",
        priority=5,
        tags=("ignored",),
    )
    v2 = stored_as(v2_state, Noted, 2)
    state_v2 = orjson.loads(v2.state)
    del state_v2["tags"]  # v2 had no tags
    v2 = StoredEvent(v2.originator_id, v2.originator_version, v2.topic, orjson.dumps(state_v2))
    current = Noted(
        **common(originator_id=aggregate, originator_version=3), note="new", priority=1, tags=()
    )
    any_ledger.recorder.insert_events(
        [stored_as(v1, Noted, None), v2, any_ledger.mapper.to_stored_event(current)]
    )

    first, second, third = any_ledger.events.get(aggregate)
    assert isinstance(first, Noted)
    assert first.note == "old note"
    assert first.priority == 0
    assert first.tags == ()
    assert first.event_id == v1.event_id
    assert first.timestamp == v1.timestamp
    assert first.occurred_at == v1.occurred_at
    assert first.command_id == "cmd-7"
    assert isinstance(second, Noted)
    assert (second.note, second.priority, second.tags) == ("middle note", 5, ())
    assert third == current


def test_upcasting_does_not_rewrite_the_stored_event(any_ledger: Ledger) -> None:
    """Reading an old event upcasts it in memory only: the stored bytes stay the v1 state, so the
    ledger stays append-only and tamper-evident."""
    aggregate = uuid4()
    v1 = NotedV1(**common(originator_id=aggregate, originator_version=1), text="kept as written")
    old = stored_as(v1, Noted, None)
    any_ledger.recorder.insert_events([old])
    [event] = any_ledger.events.get(aggregate)
    assert isinstance(event, Noted)
    assert event.note == "kept as written"
    [raw] = any_ledger.recorder.select_events(aggregate)
    assert bytes(raw.state) == old.state
    assert "class_version" not in orjson.loads(raw.state)
