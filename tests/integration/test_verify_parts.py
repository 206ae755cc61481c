"""`rems verify` at scan speed (issue 13): the clean rows checked in one tight pass, the store
checked in parts side by side; both find exactly what the long way finds, damage or not, on
SQLite, PostgreSQL and an encrypted store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from application.aggregate_rows import raw_aggregates, split_keys
from application.ledger import Ledger
from audit.clean_rows import CleanRows
from audit.digest import compute_digest
from audit.findings import VerificationReport
from audit.verify import Verifier, verify
from domain.registry import aggregate_id
from infra.secrets import create_encryption_key_file
from simulation.demo import run_demo
from tests.integration.test_phi_at_rest import encrypted_settings
from tests.integration.test_tamper_evidence import (
    RawStore,
    build_program,
    flip_one_byte,
    patient,
    rehashed,
)

Damage = Callable[[RawStore, dict[str, str]], None]


def _altered_name(raw: RawStore, _: dict[str, str]) -> None:
    enrolled = raw.rows(patient("M1"))[0]
    raw.set_state(enrolled.position, flip_one_byte(enrolled.state, b"Pat Test", b"B"))


def _broken_json(raw: RawStore, _: dict[str, str]) -> None:
    row = raw.rows(patient("F1"))[2]
    raw.set_state(row.position, row.state[:-3])


def _deleted_middle(raw: RawStore, _: dict[str, str]) -> None:
    raw.delete(raw.rows(patient("F1"))[3].position)


def _deleted_tail_decision(raw: RawStore, _: dict[str, str]) -> None:
    raw.delete(raw.rows(patient("M2"))[-1].position)


def _deleted_claim(raw: RawStore, numbers: dict[str, str]) -> None:
    [claim] = raw.rows(aggregate_id("authorization", numbers["M2_authorization"]))
    raw.delete(claim.position)


def _changed_topic(raw: RawStore, _: dict[str, str]) -> None:
    raw.set_topic(
        raw.rows(patient("M2"))[-1].position, "domain.decision_events:AuthorizationDenied"
    )


def _swapped_versions(raw: RawStore, _: dict[str, str]) -> None:
    rows = raw.rows(patient("M1"))
    raw.set_version(rows[2].position, 10_000)
    raw.set_version(rows[4].position, rows[2].version)


def _rehashed_copy_on_the_tail(raw: RawStore, _: dict[str, str]) -> None:
    rows = raw.rows(patient("M1"))
    copied, version = rows[1], rows[-1].version + 1
    raw.insert(
        patient("M1"),
        version,
        copied.topic,
        rehashed(patient("M1"), version, copied.json, copied.topic),
    )


DAMAGES: dict[str, Damage | None] = {
    "none": None,
    "altered": _altered_name,
    "unreadable": _broken_json,
    "missing-version": _deleted_middle,
    "orphan-claim": _deleted_tail_decision,
    "unclaimed-number": _deleted_claim,
    "changed-topic": _changed_topic,
    "out-of-order": _swapped_versions,
    "rehashed-copy": _rehashed_copy_on_the_tail,
}


def _findings(report: VerificationReport) -> list[tuple[object, ...]]:
    """Every finding in full, in a fixed order (equal positions may come in any order)."""
    return sorted(
        (p.position or -1, str(p.kind), str(p.aggregate_id), p.version or -1, p.message)
        for p in report.problems
    )


def _summary(report: VerificationReport) -> tuple[object, ...]:
    return (report.ok, report.events_checked, report.aggregates, report.position, report.digest)


@pytest.fixture
def the_long_way(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Switches the tight pass off: every row is checked the long way."""

    def switch() -> None:
        monkeypatch.setattr(CleanRows, "take", lambda *_: False)

    return switch


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_verify_in_parts_and_in_one_pass_find_what_the_long_way_finds(
    any_ledger: Ledger, damage: str, the_long_way: Callable[[], None]
) -> None:
    """Whatever the damage, verify in one process, in two and in three parts, and with every
    row checked the long way, reports the same findings, counts and digest check."""
    numbers = build_program(any_ledger)
    digest = compute_digest(any_ledger).text
    raw = RawStore(any_ledger)
    try:
        apply = DAMAGES[damage]
        if apply is not None:
            apply(raw, numbers)
    finally:
        raw.conn.close()
    one = verify(any_ledger, digest)
    assert one.ok == (damage == "none"), one.problems
    for parts in (2, 3):
        in_parts = verify(any_ledger, digest, parts=parts)
        assert _findings(in_parts) == _findings(one), parts
        assert _summary(in_parts) == _summary(one), parts
    the_long_way()
    long_way = verify(any_ledger, digest)
    assert _findings(long_way) == _findings(one)
    assert _summary(long_way) == _summary(one)


def test_the_parts_hold_every_row_once_and_every_aggregate_whole(any_ledger: Ledger) -> None:
    """Cut in three, the key ranges hold each row up to the stop exactly once, and no aggregate
    has rows in two ranges."""
    build_program(any_ledger)
    stop = any_ledger.notifications.end()
    owners: dict[object, int] = {}
    positions: list[int] = []
    for index, part in enumerate(split_keys(any_ledger, 3, stop)):
        for raws in raw_aggregates(any_ledger, stop, page=5, part=part):
            assert owners.setdefault(raws[0][1], index) == index
            positions.extend(raw[0] for raw in raws)
    assert sorted(positions) == list(range(1, stop + 1))


def test_verify_in_parts_on_an_encrypted_store_finds_nothing_wrong(tmp_path: Path) -> None:
    """On a store whose states are encrypted at rest, the parts decrypt what they read: the
    same intact report as one process, every event checked."""
    key = tmp_path / "keys" / "encryption.key"
    create_encryption_key_file(key)
    ledger = Ledger(encrypted_settings(tmp_path, key))
    assert ledger.mapper.cipher is not None
    try:
        run_demo(ledger, patients=4)
        one = verify(ledger)
        assert one.ok, one.problems[:3]
        two = verify(ledger, parts=2)
        assert _summary(two) == _summary(one)
        assert two.events_checked == ledger.notifications.end()
    finally:
        ledger.close()


def test_every_row_of_an_intact_program_is_taken_by_the_tight_pass(
    any_ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an intact program (integral floats like `daily_dose_mg` included) no row needs the
    long way: what makes verify fast holds for the rows a ledger writes."""
    build_program(any_ledger)
    long_way: list[object] = []
    monkeypatch.setattr(Verifier, "check", lambda _, row: long_way.append(row))
    report = verify(any_ledger)
    assert report.ok, report.problems
    assert long_way == []
    assert report.events_checked == any_ledger.notifications.end()
