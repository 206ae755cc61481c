"""Decision replay (issue 4, point 4): every recorded decision re-run on the history as recorded
just before it, under the rule-set version it recorded, gives the same outcome and reasons.

On SQLite and the real PostgreSQL: every decision of a simulated program, the three reference
forms (`RA-...`, `RC-...`, `PATIENT_ID@VERSION`), a late-recorded fact, and bad references.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from application import queries
from application.errors import InvalidCommand, NotFound
from application.ledger import Ledger
from application.replay import replay, replay_decision
from domain.base import LedgerEvent
from domain.decision_events import (
    AuthorizationDenied,
    AuthorizationIssued,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)
from domain.registry import aggregate_id
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.program import Program

DEMO_PATIENTS = 36
DEMO_PATIENT_IDS = ["PT-LAPSED", *[f"PT-{n:05d}" for n in range(1, DEMO_PATIENTS + 1)]]
DECISIONS = (
    AuthorizationIssued,
    AuthorizationDenied,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)


@pytest.fixture(scope="module")
def demo(module_backend_url: str) -> Iterator[tuple[Ledger, dict[str, Any]]]:
    """A simulated program of 36 patients (plus a lapsed one) and its summary, per backend."""
    ledger = make_ledger(module_backend_url)
    summary = run_demo(ledger, patients=DEMO_PATIENTS)
    yield ledger, summary
    ledger.close()


def decisions_of(ledger: Ledger, patient_id: str) -> tuple[list[Any], list[Any]]:
    """The patient's stored events and, among them, its decisions."""
    events: list[LedgerEvent] = ledger.stored_events(aggregate_id("patient", patient_id))
    return events, [e for e in events if isinstance(e, DECISIONS)]


def first_of(ledger: Ledger, kind: type[Any], **match: Any) -> Any:
    """The first decision of the given type in the demo (matching attribute values)."""
    for patient_id in DEMO_PATIENT_IDS:
        for event in decisions_of(ledger, patient_id)[1]:
            if isinstance(event, kind) and all(getattr(event, k) == v for k, v in match.items()):
                return event
    raise AssertionError(f"no {kind.__name__} in the demo")


# --------------------------------------------------------------------------- every decision


def test_every_decision_of_a_simulated_program_replays_the_same(
    demo: tuple[Ledger, dict[str, Any]],
) -> None:
    """Every decision event of a simulated program (issued and denied authorizations, confirmed
    and denied dispenses, recorded dispenses) replays with `same: true`."""
    ledger, summary = demo
    found: Counter[str] = Counter()
    different = []
    for patient_id in DEMO_PATIENT_IDS:
        events, decisions = decisions_of(ledger, patient_id)
        for decision in decisions:
            answer = replay(ledger, events, decision)
            found[type(decision).__name__] += 1
            assert answer["type"] == type(decision).__name__
            assert answer["patient_id"] == patient_id
            assert answer["ruleset_version"] == decision.ruleset_version
            if not answer["same"]:
                different.append((patient_id, decision.originator_version, answer))
    assert different == []
    # Every decision the simulation took was found (and so replayed).
    assert found["AuthorizationIssued"] == summary["authorizations_issued"]
    assert found["AuthorizationDenied"] == summary["authorizations_denied"]
    assert found["DispenseConfirmed"] == summary["confirmations_issued"]
    assert found["DispenseDenied"] >= summary["confirmations_denied"] > 0
    assert found["DispenseRecorded"] == summary["dispenses"]
    assert set(found) == {d.__name__ for d in DECISIONS}


# --------------------------------------------------------------------------- reference forms


def test_replay_by_authorization_number(demo: tuple[Ledger, dict[str, Any]]) -> None:
    """`replay_decision("RA-...")` re-runs the authorization that issued that number."""
    ledger, _ = demo
    issued = first_of(ledger, AuthorizationIssued)
    answer = replay_decision(ledger, issued.authorization_number)
    assert answer["authorization_number"] == issued.authorization_number
    assert "reference" not in answer
    assert answer["type"] == "AuthorizationIssued"
    assert answer["same"] is True
    assert answer["original"] == answer["replayed"]
    assert answer["original"]["issued"] is True
    assert answer["original"]["risk_category"] == issued.risk_category.value
    assert answer["decided_at"] == issued.timestamp.isoformat()


def test_replay_by_confirmation_number(demo: tuple[Ledger, dict[str, Any]]) -> None:
    """`replay_decision("RC-...")` re-runs the dispense confirmation that issued that number."""
    ledger, _ = demo
    confirmed = first_of(ledger, DispenseConfirmed)
    answer = replay_decision(ledger, confirmed.confirmation_number)
    assert answer["confirmation_number"] == confirmed.confirmation_number
    assert answer["type"] == "DispenseConfirmed"
    assert answer["same"] is True
    assert answer["original"] == {"confirmed": True, "reasons": []}


def test_replay_by_patient_and_version(demo: tuple[Ledger, dict[str, Any]]) -> None:
    """`replay_decision("PATIENT_ID@VERSION")` re-runs the decision at that version, also a
    denial (its reasons replayed) and a denied confirmation."""
    ledger, _ = demo
    for kind in (AuthorizationDenied, DispenseDenied, DispenseRecorded):
        decision = first_of(ledger, kind)
        patient_id = decisions_of_patient_id(ledger, decision)
        reference = f"{patient_id}@{decision.originator_version}"
        answer = replay_decision(ledger, reference)
        assert answer["reference"] == reference
        assert answer["type"] == kind.__name__
        assert answer["same"] is True, answer
        if kind is not DispenseRecorded:
            assert answer["original"]["reasons"], answer
            assert answer["replayed"]["reasons"] == answer["original"]["reasons"]


def decisions_of_patient_id(ledger: Ledger, decision: Any) -> str:
    """The program ID of the patient a decision belongs to."""
    for patient_id in DEMO_PATIENT_IDS:
        if aggregate_id("patient", patient_id) == decision.originator_id:
            return patient_id
    raise AssertionError(decision)


# --------------------------------------------------------------------------- late facts


def test_late_recorded_test_does_not_change_the_replay(any_ledger: Ledger) -> None:
    """A positive pregnancy test collected before an authorization but recorded after it makes
    the patient ineligible now, yet the authorization still replays as issued, unchanged."""
    p = Program(any_ledger).participants()
    p.ready_frp("F1")
    issued = p.authorize("F1")
    assert issued["ok"], issued
    number = issued["authorization_number"]
    before = replay_decision(any_ledger, number)
    assert before["same"] is True

    decided_at = p.now
    p.advance(hours=3)
    late = p.test("F1", collected_at=decided_at - timedelta(hours=1), result="positive")
    assert late["ok"], late
    assert "T7" in {r["rule"] for r in queries.eligibility(any_ledger, "F1")["reasons"]}

    after = replay_decision(any_ledger, number)
    assert after == before
    assert after["original"]["issued"] is True
    assert after["replayed"]["issued"] is True


def test_late_recorded_test_does_not_change_a_denial_replay(any_ledger: Ledger) -> None:
    """A negative test recorded after a T6 denial (though collected before it) leaves the denial
    replaying as denied with T6."""
    p = Program(any_ledger).participants()
    p.ready_frp("F1")
    p.fill("F1")
    p.advance(days=10)
    p.survey("F1")
    denied = p.authorize("F1")
    assert [r["rule"] for r in denied["error"]["reasons"]] == ["T6"]
    events = any_ledger.stored_events(aggregate_id("patient", "F1"))
    version = next(e.originator_version for e in events if isinstance(e, AuthorizationDenied))
    reference = f"F1@{version}"
    before = replay_decision(any_ledger, reference)
    assert before["same"] is True

    collected = p.now - timedelta(hours=2)
    p.advance(hours=1)
    assert p.test("F1", collected_at=collected)["ok"]
    assert queries.eligibility(any_ledger, "F1")["eligible"] is True

    after = replay_decision(any_ledger, reference)
    assert after == before
    assert [r["rule"] for r in after["replayed"]["reasons"]] == ["T6"]


# --------------------------------------------------------------------------- bad references


@pytest.fixture
def filled(any_ledger: Ledger) -> Ledger:
    """A ledger where the male patient M1 was authorized, confirmed and dispensed."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    p.fill("M1")
    return any_ledger


@pytest.mark.parametrize(
    "reference",
    [
        "RA-0000-0000-0000",  # no such authorization number
        "RC-0000-0000-0000",  # no such confirmation number
        "NOPE@3",  # no such patient
        "M1@1",  # the enrollment, not a decision
        "M1@0",
        "M1@999",  # beyond the patient's history
    ],
)
def test_unknown_reference_is_not_found(filled: Ledger, reference: str) -> None:
    """An unknown number, patient, or a version that is no decision is `not_found`."""
    count = filled.notifications.end()
    with pytest.raises(NotFound):
        replay_decision(filled, reference)
    assert filled.notifications.end() == count


@pytest.mark.parametrize(
    "reference",
    [
        "M1@abc",
        "M1@",
        "M1@-3",
        "M1@3.0",
        "M1@\u00b2",
    ],
)
def test_malformed_reference_is_invalid(filled: Ledger, reference: str) -> None:
    """A `PATIENT_ID@VERSION` reference whose version is not a number is `invalid`."""
    with pytest.raises(InvalidCommand):
        replay_decision(filled, reference)
