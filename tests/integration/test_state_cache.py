"""The ledger's state cache never answers from a stale state: every read moves the cached state
forward by what another process appended, and a conflict drops it (issue 13)."""

from __future__ import annotations

from application.ledger import Ledger
from application.unit import Unit
from domain.registry import aggregate_id
from infra.settings import ClockMode, Settings
from tests.program import TZ, Program, rules


def open_ledger(url: str) -> Ledger:
    """Another instance on the same store (event clock, New York)."""
    return Ledger(Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ))


def test_P3_a_suspension_by_another_instance_denies_the_next_authorization_of_a_cached_one(
    any_ledger: Ledger, backend_url: str
) -> None:
    """An instance that has the prescriber's certified state cached still denies with P1/P3
    once another instance suspended the prescriber: the cache is moved forward on read."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    cached = any_ledger.participant_state("prescriber", "DR1")
    assert cached is not None
    assert any_ledger.states.get(aggregate_id("prescriber", "DR1")) is cached
    other = open_ledger(backend_url)
    try:
        suspended = other.execute(
            {
                "command": "suspend_prescriber",
                "at": p.now.isoformat(),
                "prescriber_id": "DR1",
                "reason": "license review",
            }
        )
        assert suspended["ok"], suspended
    finally:
        other.close()
    denied = p.authorize("M1")
    assert denied["error"]["code"] == "denied"
    assert "P1" in rules(denied) or "P3" in rules(denied)


def test_a_cached_patient_is_moved_forward_by_its_own_commits_without_reading_them_back(
    ledger: Ledger,
) -> None:
    """After a command commits, the cached state is the state after its events, the same as a
    replay of the stored history."""
    p = Program(ledger).participants()
    p.ready_male("M1")
    uid = Unit.patient_aggregate_id("M1")
    p.ok("record_cbc", patient_id="M1", collected_at=p.now.isoformat())
    cached = ledger.states.get(uid)
    assert cached is not None
    replayed = open_ledger(ledger.settings.database_url)
    try:
        assert replayed.patient_state("M1") == cached
    finally:
        replayed.close()
