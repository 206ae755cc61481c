"""A rebuild counts a patient's decisions before its snapshot from their stored data
(`projections.rebuild_fold`, `ReportProjection.take_stored`), not decoded: the report's table is
the one a replay of every decoded event gives, denials with several rules and decisions either
side of a month's end in the ledger's zone (not UTC's) included, on an encrypted store too; a
decision whose stored data is of an older class version, or that the report declines, is
decoded instead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from application.ledger import Ledger
from application.rebuild_rows import LogByAggregate
from application.views import Views
from domain.decision_events import AuthorizationDenied, AuthorizationIssued
from infra.secrets import create_encryption_key_file
from projections.report import ReportProjection
from tests.integration.test_rebuild_by_aggregate import _rows
from tests.integration.test_snapshots import open_ledger
from tests.program import TZ, Program, local, rules

SNAPSHOT = "domain.snapshots:PatientSnapshot"
DECISIONS = (
    "domain.decision_events:AuthorizationIssued",
    "domain.decision_events:AuthorizationDenied",
)


@pytest.fixture
def history(backend_url: str) -> Iterator[Ledger]:
    """Decisions at both ends of two months in New York (each in the next month in UTC),
    denials of one and of several rules, then enough facts that every patient's latest
    snapshot (one every 4 events) comes after all of them."""
    ledger = open_ledger(backend_url, 4)
    try:
        decide(Program(ledger, start=local("2026-02-28 19:00")))
        yield ledger
    finally:
        ledger.close()


def decide(p: Program) -> None:
    """The decisions are made under a clock in UTC, so their stored instants are in UTC: each
    is counted in the month of its New York date."""
    p.participants()
    p.ready_male("M1")
    p.at(utc("2026-02-28 23:30"))  # 2026-03-01 04:30 UTC
    assert p.authorize("M1")["ok"]
    assert p.enroll("F1")["ok"]
    p.at(utc("2026-02-28 23:59"))
    denied = p.authorize("F1")
    assert len(rules(denied)) >= 2, denied
    p.at(utc("2026-03-01 00:01"))
    assert len(rules(p.authorize("F1", days_supply=40))) >= 3
    p.at(utc("2026-03-31 23:45"))  # 2026-04-01 03:45 UTC
    assert p.authorize("M1")["ok"]
    assert rules(p.authorize("M1", days_supply=40))
    for _ in range(8):
        p.advance(hours=1)
        p.survey("F1")
        p.survey("M1")


def utc(wall: str) -> datetime:
    """A New York wall-clock time, as the same instant in UTC."""
    return local(wall).astimezone(UTC)


class Decoded:
    """Spies on the ledger's mapper: the (topic, version) of every event it decodes, and the
    (aggregate ID, version) of each but the snapshots."""

    def __init__(self, ledger: Ledger) -> None:
        self.seen: list[tuple[str, int]] = []
        self.rows: list[tuple[str, int]] = []
        decode = ledger.mapper.to_domain_event

        def spy(stored: StoredEvent) -> Any:
            self.seen.append((stored.topic, stored.originator_version))
            if stored.topic != SNAPSHOT:
                self.rows.append((str(stored.originator_id), stored.originator_version))
            return decode(stored)

        ledger.mapper.to_domain_event = spy  # type: ignore[method-assign,assignment]  # the spy

    def decisions(self) -> list[tuple[str, int]]:
        return [seen for seen in self.seen if seen[0] in DECISIONS]


def rebuilt(ledger: Ledger, read: Callable[[Views], Any] = _rows) -> Any:
    """The tables a rebuild gives (`read` off the views: the rows as stored by default)."""
    with Views(ledger) as views:
        assert views.runner.rebuild() == ledger.notifications.end()
        return read(views)


def replayed(ledger: Ledger, read: Callable[[Views], Any] = _rows) -> Any:
    """The tables every event decoded and folded from the first gives."""
    with Views(ledger) as views:
        views.runner._by_aggregate = LogByAggregate(ledger, snapshots=False)
        views.runner._fold._stored = None
        assert views.runner.rebuild() == ledger.notifications.end()
        return read(views)


def started_at(ledger: Ledger) -> dict[str, int]:
    """Each patient started from a snapshot, and the snapshot's version."""
    log = LogByAggregate(ledger)
    return {a.aggregate_id: a.start_version for a in log.aggregates(10**9, _all, _all) if a.start}


def _all(topic: str) -> bool:
    return True


def test_decisions_before_the_snapshots_are_counted_from_their_stored_data(
    history: Ledger,
) -> None:
    """No row up to a patient's snapshot is decoded, and the report is that of a replay:
    by month in New York, each denial once and once under each of its rules."""
    ledger = history
    starts = started_at(ledger)
    assert len(starts) == 2
    expected = replayed(ledger)
    spy = Decoded(ledger)
    assert rebuilt(ledger) == expected
    assert spy.decisions() == [], spy.decisions()
    early = [(key, v) for key, v in spy.rows if key in starts and v <= starts[key]]
    assert early == [], "rows up to a patient's snapshot are not decoded"
    with Views(ledger) as views:
        months = views.report()["months"]
    assert [(m["month"], m["issued"], m["denied"]) for m in months] == [
        ("2026-02", 1, 1),
        ("2026-03", 1, 2),
    ]
    assert sum(months[0]["denied_by_rule"].values()) >= 2
    assert sum(months[1]["denied_by_rule"].values()) >= 4


def test_the_stored_data_counts_as_the_decoded_event(history: Ledger) -> None:
    """Each decision of the log, given to one report as its event and to another as its stored
    data, makes the same counts; data not as the model writes it is declined."""
    ledger = history
    by_event, by_data = ReportProjection(TZ), ReportProjection(TZ)
    rows = [r for r in ledger.notifications.read(1, 10_000) if r.topic in DECISIONS]
    assert len(rows) == 5
    for row in rows:
        event = ledger.notifications.decode(row)
        by_event.process_batch([event], None)  # type: ignore[arg-type]  # it writes only in flush
        state = ledger.notifications.current_state(row)
        assert state is not None
        assert by_data.take_stored(type(event), state)
    assert by_data._counts == by_event._counts
    denied = ledger.notifications.current_state(rows[1])
    assert denied is not None
    for broken in (
        {**denied, "occurred_at": "2026-02-28T23:59:00"},
        {**denied, "occurred_at": 1772341140},
        {**denied, "risk_category": "adult"},
        {**denied, "reasons": [{"message": "no rule"}]},
        {**denied, "reasons": [{"rule": 6, "message": "a number"}]},
        {key: value for key, value in denied.items() if key != "reasons"},
    ):
        assert not ReportProjection(TZ).take_stored(AuthorizationDenied, broken)


def test_a_decision_the_report_declines_is_decoded_for_it(
    history: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report that takes no stored data is given the decisions decoded: the same tables."""
    ledger = history
    expected = replayed(ledger)
    monkeypatch.setattr(ReportProjection, "take_stored", lambda self, event_type, state: False)
    spy = Decoded(ledger)
    assert rebuilt(ledger) == expected
    assert len(spy.decisions()) == 5


def test_a_decision_stored_at_an_older_class_version_is_decoded(
    history: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issued authorizations stored before their class's version 2: their data is upcast by the
    mapper, so they are decoded; the denials are still counted from their data."""
    ledger = history
    expected = replayed(ledger)
    monkeypatch.setattr(AuthorizationIssued, "class_version", 2, raising=False)
    monkeypatch.setattr(
        AuthorizationIssued, "upcast_v1_v2", staticmethod(lambda state: None), raising=False
    )
    spy = Decoded(ledger)
    assert rebuilt(ledger) == expected
    assert {topic for topic, _ in spy.decisions()} == {DECISIONS[0]}


def test_an_encrypted_store_counts_its_decisions_from_their_decrypted_data(
    tmp_path: Path,
) -> None:
    """Under `REMS_ENCRYPTION_KEY_FILE` each decision's data is decrypted before it is read:
    none is decoded, and the report is that of a replay."""
    key = tmp_path / "encryption.key"
    create_encryption_key_file(key)
    ledger = open_ledger(f"sqlite:///{tmp_path / 'rems.db'}", 4, key)
    try:
        decide(Program(ledger, start=local("2026-02-28 19:00")))
        assert len(started_at(ledger)) == 2
        expected = replayed(ledger, Views.contents)
        spy = Decoded(ledger)
        assert rebuilt(ledger, Views.contents) == expected
        assert spy.decisions() == []
        assert expected["report_authorizations"]["report"]["months"]
    finally:
        ledger.close()
