"""An eligibility answer stands, on unchanged states, until the instant
`eligibility_stands_until` names: judged anywhere before it, every patient of a simulated
program gets the very same answer (`as_of` aside). The remembered answer under the system
clock relies on it (`application.remembered_eligibility`)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from application.ledger import Ledger
from application.queries import eligibility_answer, eligibility_stands_until
from domain.answer_validity import instants_in, judgement_stands_until
from domain.participants import ParticipantState
from domain.patient_state import PatientState
from domain.rules.context import DecisionTime
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.program import TZ

MICROSECOND = timedelta(microseconds=1)
SHIFTS = [timedelta(0), MICROSECOND, timedelta(seconds=1), timedelta(hours=24)]


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """Every patient of a 24-patient simulated program with its prescriber, as folded last."""
    ledger: Ledger = make_ledger(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'rems.db'}")
    run_demo(ledger, patients=24)
    found = []
    for number in range(1, 25):
        patient = ledger.patient_state(f"PT-{number:05d}")
        assert patient is not None
        found.append((patient, ledger.participant_state("prescriber", patient.prescriber_id)))
    yield found
    ledger.close()


def _instants_to_judge_at(patient: PatientState, rng: random.Random) -> list[datetime]:
    """Around every instant the patient's state holds (on each side of T2's hours and of a
    last second), and at random instants across the program."""
    held = sorted(instants_in(patient))
    near = [d + sign * shift for d in held for shift in SHIFTS for sign in (1, -1)]
    span = (held[-1] - held[0]).total_seconds()
    spread = [held[0] + timedelta(seconds=rng.uniform(0, span + 86_400)) for _ in range(20)]
    return rng.sample(near, min(len(near), 40)) + spread


def _without_as_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "as_of"}


def _decision(answer: dict[str, Any]) -> dict[str, Any]:
    """What was decided (the rules unmet, not their wording, which may quote the instant)."""
    return {**_without_as_of(answer), "reasons": [r["rule"] for r in answer["reasons"]]}


def _judged_in_windows(
    states: list[tuple[PatientState, ParticipantState | None]],
    window_end: Any,
    seen: Any,
) -> tuple[int, int]:
    """Judge every patient at instants around its states, and again at instants before
    `window_end(patient, prescriber, at, answer)`; `seen(first, again)` compares the answers.
    How many were judged, and how many stood for a while."""
    rng = random.Random(13)
    stood = judged = 0
    for patient, prescriber in states:
        for now in _instants_to_judge_at(patient, rng):
            at = DecisionTime.in_force(now, TZ)
            answer = eligibility_answer(patient, prescriber, at)
            until = window_end(patient, prescriber, at, answer)
            judged += 1
            assert until >= now
            if until == now:
                continue
            stood += 1
            window = (until - now).total_seconds()
            later = [until - MICROSECOND, now + MICROSECOND, until - timedelta(seconds=1)]
            later += [now + timedelta(seconds=rng.uniform(0, window)) for _ in range(6)]
            for instant in (t for t in later if now <= t < until):
                again = eligibility_answer(patient, prescriber, DecisionTime.in_force(instant, TZ))
                seen(answer, again, (patient.patient_id, now.isoformat(), instant.isoformat()))
    return judged, stood


def test_no_decision_turns_before_the_instant_the_domain_names(
    states: list[tuple[PatientState, ParticipantState | None]],
) -> None:
    """`judgement_stands_until` alone (no second judgement): the same decision, the same
    unmet rules, the same due dates, anywhere before the instant it names."""

    def same_decision(first: dict[str, Any], again: dict[str, Any], where: Any) -> None:
        assert _decision(again) == _decision(first), where

    judged, stood = _judged_in_windows(
        states, lambda p, pr, at, _: judgement_stands_until(at, p, pr), same_decision
    )
    assert judged > 1000
    assert stood > judged // 2, (stood, judged)


def test_every_answer_is_the_same_anywhere_before_the_instant_it_stands_until(
    states: list[tuple[PatientState, ParticipantState | None]],
) -> None:
    """`eligibility_stands_until`: the very same answer, word for word, `as_of` aside."""

    def same_answer(first: dict[str, Any], again: dict[str, Any], where: Any) -> None:
        assert _without_as_of(again) == _without_as_of(first), where

    judged, stood = _judged_in_windows(states, eligibility_stands_until, same_answer)
    assert stood > judged // 3, (stood, judged)


def test_an_answer_never_stands_past_the_next_midnight_in_the_programs_zone(
    states: list[tuple[PatientState, ParticipantState | None]],
) -> None:
    patient, prescriber = states[0]
    now = datetime(2026, 3, 7, 23, 30, tzinfo=TZ)  # the eve of the DST change (2026-03-08)
    until = judgement_stands_until(DecisionTime.in_force(now, TZ), patient, prescriber)
    assert until <= datetime(2026, 3, 8, 0, 0, tzinfo=TZ)


def test_an_answer_quoting_the_instant_itself_does_not_stand(
    states: list[tuple[PatientState, ParticipantState | None]],
) -> None:
    """T2's reason names "since" (24 hours before now): such an answer changes every instant."""
    for patient, prescriber in states:
        for test in patient.tests:
            now = test.collected_at + timedelta(hours=30)
            at = DecisionTime.in_force(now, TZ)
            answer = eligibility_answer(patient, prescriber, at)
            if any("since" in reason["message"] for reason in answer["reasons"]):
                assert eligibility_stands_until(patient, prescriber, at, answer) == now
                return
    pytest.skip("no answer of the program quotes T2's window")


def test_instants_are_found_at_any_depth(tmp_path: Path) -> None:
    ledger = make_ledger(f"sqlite:///{tmp_path / 'rems.db'}")
    try:
        from tests.program import Program

        Program(ledger).participants().ready_frp("F1")
        patient = ledger.patient_state("F1")
        assert patient is not None
        held = set(instants_in(patient))
        assert {t.collected_at for t in patient.tests} <= held
        assert {s.completed_at for s in patient.surveys} <= held
        assert patient.frp_since in held
    finally:
        ledger.close()
