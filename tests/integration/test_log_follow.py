"""A command follows the log once (which aggregates changed since the last command), then takes
every cached state nobody else changed without asking the store; whatever another instance
appended is still seen (issue 13: the HTTP decision path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from application.ledger import Ledger
from application.log_follow import Changes
from application.state_cache import StateCache
from application.unit import Unit
from domain.registry import NumberClaim, aggregate_id, project_claim
from tests.integration.test_state_cache import open_ledger
from tests.program import Program, rules


def counting_reads(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The aggregate IDs the ledger reads from the store from now on."""
    read: list[Any] = []
    select: Callable[..., Any] = ledger.recorder.select_events

    def counted(originator_id: Any, **kwargs: Any) -> Any:
        read.append(originator_id)
        return select(originator_id, **kwargs)

    monkeypatch.setattr(ledger.recorder, "select_events", counted)
    return read


def test_an_authorization_and_its_confirmation_read_no_aggregate_already_cached(
    any_ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the patient, the prescriber and the pharmacy are cached, authorizing and confirming
    read none of them again, nor the number's claim this process just wrote."""
    p = Program(any_ledger).participants().ready_male("M1")
    first = p.authorize("M1")
    assert p.confirm(first["authorization_number"], "M1")["ok"]
    read = counting_reads(any_ledger, monkeypatch)
    second = p.advance(days=28).authorize("M1")
    assert second["ok"], second
    assert p.confirm(second["authorization_number"], "M1")["ok"]
    assert read == []


def test_a_patient_another_instance_changed_is_read_again_never_judged_stale(
    any_ledger: Ledger, backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance records a CBC on a cached patient: the next command here reads the
    patient again (a stale state would end in `conflict` at the append) and records on top."""
    p = Program(any_ledger).participants().ready_male("M1")
    p.ok("record_cbc", patient_id="M1", collected_at=p.now.isoformat())
    other = open_ledger(backend_url)
    try:
        Program(other, start=p.now).advance(hours=1).ok(
            "record_cbc", patient_id="M1", collected_at=p.now.isoformat()
        )
    finally:
        other.close()
    read = counting_reads(any_ledger, monkeypatch)
    again = p.advance(hours=2).run("record_cbc", patient_id="M1", collected_at=p.now.isoformat())
    assert again["ok"], again
    assert read == [Unit.patient_aggregate_id("M1")]  # the patient only: DR1 is current
    replayed = open_ledger(backend_url)
    try:
        assert replayed.patient_state("M1") == any_ledger.patient_state("M1")
    finally:
        replayed.close()


def test_more_changes_than_one_follow_lists_trust_no_cached_state(
    any_ledger: Ledger, backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When more rows follow than one read lists, nothing cached is taken as current: a
    suspension by another instance among them still denies (P1/P3)."""
    monkeypatch.setattr("application.log_follow.MOST_FOLLOWED", 2)
    p = Program(any_ledger).participants().ready_male("M1")
    assert p.authorize("M1")["ok"]
    other = open_ledger(backend_url)
    try:
        q = Program(other, start=p.now)
        q.advance(hours=1).ok("register_prescriber", prescriber_id="DR9", name="Dr Nine",
                              address="9 Way", fax="555-0109")  # fmt: skip
        q.ok("suspend_prescriber", prescriber_id="DR1", reason="license review")
    finally:
        other.close()
    denied = p.advance(hours=2).authorize("M1")
    assert denied["error"]["code"] == "denied"
    assert "P1" in rules(denied) or "P3" in rules(denied)


def claim_state(version: int = 1) -> NumberClaim:
    """A number's claim at a version (a state the cache can hold)."""
    return NumberClaim.model_construct(
        id=uuid4(),
        version=version,
        head_hash="",
        number="RA-1",
        kind="authorization",
        patient_id="M1",
    )


def test_a_state_read_before_the_cache_followed_further_is_not_current() -> None:
    """A read that began before another thread's follow moved the position may have missed
    what that follow saw: kept, but asked about again on the next read."""
    cache, uid = StateCache(), uuid4()
    cache.follow(Changes(end=10, versions=None))
    cache.put(uid, claim_state(), project_claim, read_after=10)
    assert cache.current(uid) is not None
    late = uuid4()
    cache.follow(Changes(end=12, versions={}))
    cache.put(late, claim_state(), project_claim, read_after=10)
    assert cache.get(late) is not None
    assert cache.current(late) is None
    assert cache.current(uid) is not None


def test_a_follow_drops_only_the_states_someone_moved_past() -> None:
    """A change at the cached version (this process's own commit) keeps a state current; one
    past it, or too many changes to list, does not."""
    cache, own, moved = StateCache(), uuid4(), uuid4()
    cache.follow(Changes(end=1, versions={}))
    cache.put(own, claim_state(2), project_claim, read_after=1)
    cache.put(moved, claim_state(2), project_claim, read_after=1)
    cache.follow(Changes(end=5, versions={own: 2, moved: 3}))
    assert cache.current(own) is not None
    assert cache.current(moved) is None
    cache.follow(Changes(end=9, versions=None))
    assert cache.current(own) is None
    assert cache.position == 9


def test_a_number_claimed_by_this_process_is_cached_from_its_commit(
    any_ledger: Ledger,
) -> None:
    """The claim written with an authorization is in the cache once it commits."""
    p = Program(any_ledger).participants().ready_male("M1")
    number = p.authorize("M1")["authorization_number"]
    cached = any_ledger.states.get(aggregate_id("authorization", number))
    assert isinstance(cached, NumberClaim)
    assert cached.patient_id == "M1"
