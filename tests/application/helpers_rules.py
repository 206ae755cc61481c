"""Helpers shared by the rule tests (`test_rules_*.py`): result checks and common set-ups.

Every check goes through the public command contract (`Ledger.execute`) and the `history`
query, so a test shows both the answer a client gets and what the ledger recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from application.ledger import Ledger
from application.queries import history
from tests.program import Program, local, rules

ERROR_CODES = {"invalid", "not_found", "denied", "conflict", "duplicate"}


def assert_error(result: dict[str, Any], code: str) -> dict[str, Any]:
    """The contract's error shape: `{"ok": false, "error": {"code", "message", "reasons"}}`."""
    assert result["ok"] is False, result
    error = result["error"]
    assert error["code"] == code, result
    assert error["code"] in ERROR_CODES
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["reasons"], list)
    for reason in error["reasons"]:
        assert set(reason) == {"rule", "message"}, reason
        assert reason["message"], reason
    return error


def assert_denied(result: dict[str, Any], *expected: str) -> None:
    """A denial naming exactly these rule IDs, one entry per ID (order free)."""
    assert_error(result, "denied")
    ids = rules(result)
    assert len(ids) == len(set(ids)), f"one entry per rule ID: {ids}"
    assert sorted(ids) == sorted(expected), f"expected {sorted(expected)}, got {ids}"


def assert_invalid(result: dict[str, Any], field: str) -> None:
    """An `invalid` error naming the field, with no rule reasons."""
    error = assert_error(result, "invalid")
    assert error["reasons"] == []
    assert error.get("field") == field, result
    assert field in error["message"]


def number(result: dict[str, Any], key: str = "authorization_number") -> str:
    """The number a successful decision issued."""
    assert result["ok"], result
    value = result[key]
    assert isinstance(value, str)
    return value


def events(program: Program, patient_id: str = "PAT1") -> list[dict[str, Any]]:
    """The patient's history (every event in recorded order)."""
    found: list[dict[str, Any]] = history(program.ledger, patient_id)["events"]
    return found


def event_types(program: Program, patient_id: str = "PAT1") -> list[str]:
    """The type names of the patient's events, in recorded order."""
    return [e["type"] for e in events(program, patient_id)]


def last_event(program: Program, type_name: str, patient_id: str = "PAT1") -> dict[str, Any]:
    """The patient's latest event of a type."""
    matching = [e for e in events(program, patient_id) if e["type"] == type_name]
    assert matching, f"no {type_name} in {event_types(program, patient_id)}"
    return matching[-1]


def assert_denial_recorded(
    program: Program, type_name: str, *expected: str, patient_id: str = "PAT1"
) -> None:
    """The latest recorded denial of that type lists exactly these rule IDs."""
    recorded = last_event(program, type_name, patient_id)
    assert sorted(r["rule"] for r in recorded["reasons"]) == sorted(expected), recorded


def started(ledger: Ledger, when: str) -> Program:
    """A program on this ledger starting at a local time, DR1 and PH1 certified."""
    return Program(ledger, start=local(when)).participants()


def frp_without_tests(program: Program, patient_id: str = "PAT1", **enroll: Any) -> Program:
    """An adult FRP enrolled now, counseled, on IUD + condom for 40 days, survey done; no tests."""
    result = program.enroll(patient_id, **enroll)
    assert result["ok"], result
    program.counsel(patient_id)
    program.contraception(patient_id)
    program.survey(patient_id)
    return program


def negative_test(program: Program, collected_at: datetime, patient_id: str = "PAT1") -> None:
    """Record a sensitive negative test collected at that instant (the clock moves up to it
    when it lies ahead: facts are never future-dated)."""
    if collected_at > program.now:
        program.at(collected_at)
    result = program.test(patient_id, collected_at=collected_at)
    assert result["ok"], result


def subsequent_frp(program: Program, patient_id: str = "PAT1") -> dict[str, str]:
    """An FRP with a first fill on 2026-03-13 09:00 (after `ready_frp`); last test 07:00 that day
    and survey 09:00 that day. Returns the first fill's numbers."""
    program.ready_frp(patient_id)
    return program.fill(patient_id)


def subsequent_male(program: Program, patient_id: str = "PAT1") -> dict[str, str]:
    """An adult male with a first fill now (no survey taken)."""
    program.ready_male(patient_id)
    return program.fill(patient_id)


def one_second() -> timedelta:
    """The smallest step the tests take across an edge."""
    return timedelta(seconds=1)
