"""Optimistic concurrency: two ledger instances on one database never lose or duplicate a fact.

The deterministic tests interleave two `Ledger` instances by hand: the second one's handler reads
the patient and decides (exactly what `Ledger.execute` does), then the first one appends, then
the second one commits its now stale events through `Ledger._commit`. The threaded test runs
real commands from two instances at once and checks the invariant. No mocks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from application.commands import COMMANDS, Command
from application.errors import Conflict
from application.handlers import HANDLERS
from application.ledger import Ledger
from application.unit import Unit
from domain.calendar import day_of
from domain.rules.context import DecisionTime
from domain.ruleset import ruleset_in_force
from infra.settings import ClockMode, Settings
from tests.builders import enrollment_form
from tests.program import TZ, Program


def open_ledger(url: str) -> Ledger:
    """Another ledger instance on the same database (event clock, New York)."""
    return Ledger(Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ))


@pytest.fixture
def second_ledger(backend_url: str, any_ledger: Ledger) -> Iterator[Ledger]:
    """A second, independent ledger instance on the same database as `any_ledger`."""
    other = open_ledger(backend_url)
    yield other
    other.close()


def decide(ledger: Ledger, body: dict[str, Any]) -> tuple[Unit, Command, dict[str, Any]]:
    """Parse and decide a command on `ledger` without committing (the first half of execute)."""
    command = COMMANDS[body["command"]].model_validate_json(orjson.dumps(body))
    assert command.at is not None
    at = DecisionTime(now=command.at, tz=TZ, ruleset=ruleset_in_force(day_of(command.at, TZ)))
    unit = Unit(aggregates=ledger, at=at, actor="test", command_id=command.command_id)
    outcome = HANDLERS[command.command](unit, command)
    result = outcome.error.to_result() if outcome.error else {"ok": True, **outcome.payload}
    return unit, command, result


def commit(ledger: Ledger, unit: Unit, command: Command, result: dict[str, Any]) -> dict[str, Any]:
    """Commit a decided unit (the second half of execute): its result, or the conflict."""
    try:
        ledger._commit(unit, command, result)
    except Conflict as error:
        return error.to_result()
    return result


def patient_types(ledger: Ledger, patient_id: str) -> list[str]:
    """The event types stored on the patient's aggregate, freshly read from the store."""
    return [e.type_name for e in ledger.stored_events(Unit.patient_aggregate_id(patient_id))]


def at_iso(program: Program) -> str:
    """The program clock as an ISO instant."""
    return program.now.isoformat()


def test_stale_append_is_a_conflict_and_the_retry_succeeds(
    any_ledger: Ledger, second_ledger: Ledger
) -> None:
    """Both instances read the patient; the first appends; the second's append from the stale
    version is `conflict` with nothing recorded, and retrying its command succeeds."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    first, second = any_ledger, second_ledger
    assert second.patient_state("M1") == first.patient_state("M1")
    base = patient_types(first, "M1")

    survey: dict[str, Any] = {
        "command": "record_patient_survey",
        "at": at_iso(p),
        "patient_id": "M1",
        "compliant": True,
    }
    stale_unit, stale_command, stale_result = decide(second, survey)
    assert stale_result["ok"] is True

    cbc = first.execute(
        {"command": "record_cbc", "at": at_iso(p), "patient_id": "M1", "collected_at": at_iso(p)}
    )
    assert cbc["ok"] is True

    outcome = commit(second, stale_unit, stale_command, stale_result)
    assert outcome["ok"] is False
    assert outcome["error"]["code"] == "conflict"
    assert outcome["error"]["reasons"] == []
    assert "M1" in outcome["error"]["message"]
    assert patient_types(first, "M1") == [*base, "CbcRecorded"]  # no lost, no stale event

    retry = second.execute(survey)
    assert retry == {"ok": True, "patient_id": "M1", "compliant": True}
    assert patient_types(second, "M1") == [*base, "CbcRecorded", "PatientSurveyCompleted"]
    versions = [e.originator_version for e in first.stored_events(Unit.patient_aggregate_id("M1"))]
    assert versions == list(range(1, len(versions) + 1))


def test_conflicting_authorization_records_neither_decision_nor_number_claim(
    any_ledger: Ledger, second_ledger: Ledger
) -> None:
    """A stale authorization that conflicts leaves no AuthorizationIssued, no claim of its
    number and no receipt of its command_id: the whole command is one transaction."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    request = {
        "command": "request_authorization",
        "at": at_iso(p),
        "command_id": "auth-race-1",
        "patient_id": "M1",
        "prescriber_id": "DR1",
        "daily_dose_mg": 10,
        "days_supply": 28,
        "refills": 0,
        "channel": "electronic",
    }
    stale_unit, stale_command, stale_result = decide(second_ledger, request)
    number = stale_result["authorization_number"]
    assert any_ledger.execute(
        {"command": "record_patient_survey", "at": at_iso(p), "patient_id": "M1", "compliant": True}
    )["ok"]

    outcome = commit(second_ledger, stale_unit, stale_command, stale_result)
    assert outcome["error"]["code"] == "conflict"
    assert second_ledger.claim("authorization", number) is None
    assert any_ledger.receipt("batch", "auth-race-1") is None
    assert "AuthorizationIssued" not in patient_types(any_ledger, "M1")

    retry = second_ledger.execute(request)  # same command_id: not a duplicate, nothing was kept
    assert retry["ok"] is True, retry
    assert retry["authorization_number"] != number
    assert patient_types(any_ledger, "M1").count("AuthorizationIssued") == 1
    receipt = any_ledger.receipt("batch", "auth-race-1")
    assert receipt is not None
    assert receipt.result == retry


def test_two_instances_issuing_concurrently_give_one_open_supply(
    any_ledger: Ledger, second_ledger: Ledger
) -> None:
    """Two stale authorizations for one patient: the first commits, the second conflicts, so the
    patient never holds two unvoided authorizations from one race (A4)."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    request = {
        "command": "request_authorization",
        "at": at_iso(p),
        "patient_id": "M1",
        "prescriber_id": "DR1",
        "daily_dose_mg": 10,
        "days_supply": 28,
        "refills": 0,
        "channel": "electronic",
    }
    decided_a = decide(any_ledger, request)
    decided_b = decide(second_ledger, request)
    results = [commit(any_ledger, *decided_a), commit(second_ledger, *decided_b)]
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["error"]["code"] == "conflict"
    state = any_ledger.patient_state("M1")
    assert state is not None
    assert [a.status.value for a in state.authorizations] == ["issued"]


NEW_AGGREGATE_RACES = {
    "enroll-same-patient": {
        "command": "enroll_patient",
        **enrollment_form("N1", sex="male", name="New Patient", date_of_birth="1970-07-01"),
    },
    "same-command-id-twice": {
        "command": "register_prescriber",
        "command_id": "register-dr8",
        "prescriber_id": "DR8",
        "name": "Dr Eight",
        "address": "8 Elm St",
        "fax": "555-0108",
    },
    "register-same-prescriber": {
        "command": "register_prescriber",
        "prescriber_id": "DR7",
        "name": "Dr Seven",
        "address": "7 Elm St",
        "fax": "555-0107",
    },
}


@pytest.mark.parametrize("body", list(NEW_AGGREGATE_RACES.values()), ids=list(NEW_AGGREGATE_RACES))
def test_racing_creations_of_one_aggregate_give_one_winner_and_a_duplicate_on_retry(
    any_ledger: Ledger, second_ledger: Ledger, body: dict[str, Any]
) -> None:
    """Two instances creating the same patient or prescriber at once: one wins, the other is
    `conflict`, and retrying it answers `duplicate` with the winner's result."""
    p = Program(any_ledger).participants()
    command = {**body, "at": at_iso(p)}
    decided_a = decide(any_ledger, command)
    decided_b = decide(second_ledger, command)
    first = commit(any_ledger, *decided_a)
    assert first["ok"] is True, first
    lost = commit(second_ledger, *decided_b)
    assert lost["error"]["code"] == "conflict"
    retry = second_ledger.execute(command)
    assert retry["error"]["code"] == "duplicate"
    assert retry["original"] == first


@pytest.mark.parametrize("shared", [False, True], ids=["two-instances", "one-shared-instance"])
def test_racing_threads_only_ever_succeed_or_conflict(
    any_ledger: Ledger, second_ledger: Ledger, shared: bool
) -> None:
    """Two threads appending to one patient at once, retrying on conflict: every result is ok
    or `conflict`, each command's event is stored exactly once, and the versions have no gap."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    base = len(patient_types(any_ledger, "M1"))
    ledgers = [any_ledger, any_ledger if shared else second_ledger]
    when = at_iso(p)
    rounds = 12
    results: list[list[dict[str, Any]]] = [[], []]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        try:
            start.wait()
            for n in range(rounds):
                command = {
                    "command": "record_cbc",
                    "command_id": f"t{index}-{n}",
                    "at": when,
                    "patient_id": "M1",
                    "collected_at": when,
                }
                for _attempt in range(50):
                    result = ledgers[index].execute(command)
                    results[index].append(result)
                    if result["ok"] or result["error"]["code"] != "conflict":
                        break
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    flat = results[0] + results[1]
    for result in flat:
        assert result["ok"] or result["error"]["code"] == "conflict", result
    successes = sum(1 for r in flat if r["ok"])
    assert successes == 2 * rounds
    events = any_ledger.stored_events(Unit.patient_aggregate_id("M1"))
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    appended = events[base:]
    assert [e.type_name for e in appended] == ["CbcRecorded"] * successes
    expected_ids = {f"t{i}-{n}" for i in (0, 1) for n in range(rounds)}
    assert sorted(e.command_id or "" for e in appended) == sorted(expected_ids)
    for command_id in expected_ids:
        receipt = any_ledger.receipt("batch", command_id)
        assert receipt is not None
        assert receipt.result["ok"] is True


def test_a_conflict_never_moves_the_event_clock(any_ledger: Ledger, backend_url: str) -> None:
    """The instance whose append conflicted keeps its last recorded `at`: nothing was recorded."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    other = open_ledger(backend_url)
    try:
        before = other.last_recorded_at
        assert before == p.now
        p.advance(hours=2)
        body: dict[str, Any] = {
            "command": "record_patient_survey",
            "at": at_iso(p),
            "patient_id": "M1",
            "compliant": True,
        }
        decided = decide(other, body)
        assert any_ledger.execute({**body, "compliant": False})["ok"]
        assert commit(other, *decided)["error"]["code"] == "conflict"
        assert other.last_recorded_at == before
        assert any_ledger.last_recorded_at == p.now
    finally:
        other.close()
