"""The `rems` command line as a user runs it: a real subprocess on JSON Lines scenario files.

`rems apply FILE|-` is the stable batch contract (DESIGN.md): one JSON result per non-blank line,
each with its 1-based `line`, exit status 0 whatever the outcomes. `rems eligibility` and
`rems history` print the shapes of DESIGN.md, "Queries".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

SCENARIOS = Path(__file__).parent / "scenarios"
MALE_JOURNEY = SCENARIOS / "male_journey.jsonl"
FRP_INITIAL = SCENARIOS / "frp_initial.jsonl"


def run_rems(
    url: str, cwd: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m entrypoints.cli.main ARGS` on the database URL with the event clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env.update({"REMS_DATABASE_URL": url, "REMS_CLOCK": "event"})
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def results_of(completed: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    """The JSON results printed by `rems apply`, one per stdout line."""
    return [orjson.loads(line) for line in completed.stdout.splitlines()]


def nonblank_line_numbers(path: Path) -> list[int]:
    """The 1-based numbers of the lines of a file that hold something other than whitespace."""
    lines = path.read_text().splitlines()
    return [n for n, line in enumerate(lines, start=1) if line.strip()]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'cli.db'}"


def apply_male_journey(url: str, cwd: Path) -> list[dict[str, Any]]:
    """Apply the male journey scenario and return its results (asserting exit status 0)."""
    completed = run_rems(url, cwd, "apply", str(MALE_JOURNEY))
    assert completed.returncode == 0, completed.stderr.decode()
    return results_of(completed)


def check_male_journey(results: list[dict[str, Any]]) -> None:
    """The male journey's outcomes, line by line."""
    by_line = {r["line"]: r for r in results}
    assert list(by_line) == nonblank_line_numbers(MALE_JOURNEY)
    assert [by_line[n]["ok"] for n in (1, 2, 3, 5)] == [True] * 4
    assert by_line[5]["risk_category"] == "adult_male"
    assert by_line[6]["error"]["code"] == "denied"
    assert [r["rule"] for r in by_line[6]["error"]["reasons"]] == ["K1"]
    assert by_line[7]["error"]["code"] == "invalid"  # a malformed line; the batch continues
    assert by_line[7]["error"]["reasons"] == []
    assert by_line[8]["ok"] is True
    assert by_line[8]["counseling_complete"] is True
    assert by_line[10]["error"]["code"] == "denied"
    assert [r["rule"] for r in by_line[10]["error"]["reasons"]] == ["A3"]
    issued = by_line[11]
    assert issued["ok"] is True
    assert issued["authorization_number"].startswith("RA-")
    assert issued["risk_category"] == "adult_male"
    assert issued["expires_at"] == "2026-03-31T23:59:59-04:00"


def test_apply_answers_every_nonblank_line_and_exits_zero_though_lines_fail(
    db_url: str, tmp_path: Path
) -> None:
    """Each non-blank line gets one result carrying its 1-based `line`; blank and whitespace-only
    lines are skipped; denials and a malformed line do not stop the batch or the exit status 0."""
    results = apply_male_journey(db_url, tmp_path)
    check_male_journey(results)
    for result in results:
        assert isinstance(result["ok"], bool)
        if not result["ok"]:
            assert set(result["error"]) >= {"code", "message", "reasons"}


def test_apply_reads_stdin_with_dash_and_continues_the_stored_ledger(
    db_url: str, tmp_path: Path
) -> None:
    """`rems apply -` reads commands from stdin; a second run continues the same database, so
    the FRP's authorization from the first file is confirmed and dispensed from stdin."""
    first = run_rems(db_url, tmp_path, "apply", str(FRP_INITIAL))
    assert first.returncode == 0, first.stderr.decode()
    results = results_of(first)
    assert [r["line"] for r in results] == list(range(1, 11))
    assert all(r["ok"] for r in results), [r for r in results if not r["ok"]]
    auth = results[-1]
    assert auth["initial"] is True
    assert auth["expires_at"] == "2026-03-20T23:59:59-04:00"

    confirm = {
        "command": "request_dispense_confirmation",
        "at": "2026-03-13T10:00:00-04:00",
        "pharmacy_id": "PH1",
        "patient_id": "F1",
        "authorization_number": auth["authorization_number"],
        "days_supply": 28,
    }
    confirmed = run_rems(db_url, tmp_path, "apply", "-", stdin=orjson.dumps(confirm) + b"\n")
    assert confirmed.returncode == 0, confirmed.stderr.decode()
    [confirmation] = results_of(confirmed)
    assert confirmation["line"] == 1
    assert confirmation["ok"] is True, confirmation

    dispense = {
        "command": "record_dispense",
        "at": "2026-03-13T10:30:00-04:00",
        "pharmacy_id": "PH1",
        "confirmation_number": confirmation["confirmation_number"],
        "medication_guide_provided": True,
        "counseled": False,
        "capsules": 28,
    }
    stdin = b"\n" + orjson.dumps(dispense) + b"\n" + orjson.dumps(dispense) + b"\n"
    dispensed = run_rems(db_url, tmp_path, "apply", "-", stdin=stdin)
    assert dispensed.returncode == 0, dispensed.stderr.decode()
    first_dispense, second_dispense = results_of(dispensed)
    assert first_dispense["line"] == 2
    assert first_dispense["ok"] is True
    assert [t["rule"] for t in first_dispense["tracked"]] == ["D3"]
    assert second_dispense["line"] == 3
    assert second_dispense["error"]["code"] == "duplicate"
    assert second_dispense["original"] == {k: v for k, v in first_dispense.items() if k != "line"}


def test_eligibility_json_has_the_documented_shape(db_url: str, tmp_path: Path) -> None:
    """`rems eligibility ID --json` prints patient_id, eligible, risk_category, reasons and
    next_due; without --as-of it judges at the last recorded `at` (event clock)."""
    apply_male_journey(db_url, tmp_path)
    completed = run_rems(db_url, tmp_path, "eligibility", "M1", "--json")
    assert completed.returncode == 0, completed.stderr.decode()
    answer = orjson.loads(completed.stdout)
    assert set(answer) >= {"patient_id", "eligible", "risk_category", "reasons", "next_due"}
    assert answer["patient_id"] == "M1"
    assert answer["eligible"] is True
    assert answer["risk_category"] == "adult_male"
    assert answer["reasons"] == []
    assert isinstance(answer["next_due"], dict)
    assert answer["as_of"] == "2026-03-01T09:45:00-05:00"

    before_counseling = run_rems(
        db_url, tmp_path, "eligibility", "M1", "--json", "--as-of", "2026-03-01T09:25:00-05:00"
    )
    assert before_counseling.returncode == 0, before_counseling.stderr.decode()
    earlier = orjson.loads(before_counseling.stdout)
    assert earlier["eligible"] is False
    assert [(set(r), r["rule"]) for r in earlier["reasons"]] == [({"rule", "message"}, "K1")]

    readable = run_rems(db_url, tmp_path, "eligibility", "M1", "--as-of", "2026-03-01")
    assert readable.returncode == 0, readable.stderr.decode()
    assert b"M1: ELIGIBLE (adult_male)" in readable.stdout


def test_history_json_lists_events_in_recorded_order_and_honours_as_of(
    db_url: str, tmp_path: Path
) -> None:
    """`rems history ID --json` prints patient_id and events with type, occurred_at and
    recorded_at in recorded order, including the recorded denials; --as-of hides later ones."""
    apply_male_journey(db_url, tmp_path)
    completed = run_rems(db_url, tmp_path, "history", "M1", "--json")
    assert completed.returncode == 0, completed.stderr.decode()
    answer = orjson.loads(completed.stdout)
    assert answer["patient_id"] == "M1"
    events = answer["events"]
    assert [e["type"] for e in events] == [
        "PatientEnrolled",
        "AuthorizationDenied",
        "CounselingRecorded",
        "AuthorizationDenied",
        "AuthorizationIssued",
    ]
    for event in events:
        assert set(event) >= {"type", "occurred_at", "recorded_at"}
    recorded = [e["recorded_at"] for e in events]
    assert recorded == [
        "2026-03-01T09:05:00-05:00",
        "2026-03-01T09:10:00-05:00",
        "2026-03-01T09:30:00-05:00",
        "2026-03-01T09:40:00-05:00",
        "2026-03-01T09:45:00-05:00",
    ]
    assert events[-1]["command_id"] == "m1-first-rx"

    as_of = run_rems(
        db_url, tmp_path, "history", "M1", "--json", "--as-of", "2026-03-01T09:30:00-05:00"
    )
    assert as_of.returncode == 0, as_of.stderr.decode()
    known = orjson.loads(as_of.stdout)["events"]
    assert [e["type"] for e in known] == [
        "PatientEnrolled",
        "AuthorizationDenied",
        "CounselingRecorded",
    ]


@pytest.mark.parametrize("query", ["eligibility", "history"])
def test_query_for_an_unknown_patient_exits_1_with_a_clear_message(
    db_url: str, tmp_path: Path, query: str
) -> None:
    """A query about a patient who was never enrolled exits with status 1, says so on stderr,
    and with --json prints a `not_found` error result."""
    apply_male_journey(db_url, tmp_path)
    completed = run_rems(db_url, tmp_path, query, "NOBODY", "--json")
    assert completed.returncode == 1
    assert b"NOBODY" in completed.stderr
    assert b"not enrolled" in completed.stderr
    answer = orjson.loads(completed.stdout)
    assert answer["ok"] is False
    assert answer["error"]["code"] == "not_found"

    plain = run_rems(db_url, tmp_path, query, "NOBODY")
    assert plain.returncode == 1
    assert plain.stdout == b""
    assert plain.stderr.startswith(b"rems: Patient NOBODY is not enrolled")


def test_apply_exits_non_zero_when_the_input_cannot_be_read(db_url: str, tmp_path: Path) -> None:
    """A missing input file is an unreadable input: non-zero exit and no results."""
    completed = run_rems(db_url, tmp_path, "apply", str(tmp_path / "missing.jsonl"))
    assert completed.returncode != 0
    assert completed.stdout == b""


@pytest.mark.postgres
def test_apply_scenario_on_postgresql(fresh_postgres_url: str, tmp_path: Path) -> None:
    """The same scenario through the CLI on the real PostgreSQL gives the same outcomes, and the
    history query reads them back from it."""
    check_male_journey(apply_male_journey(fresh_postgres_url, tmp_path))
    completed = run_rems(fresh_postgres_url, tmp_path, "history", "M1", "--json")
    assert completed.returncode == 0, completed.stderr.decode()
    assert [e["type"] for e in orjson.loads(completed.stdout)["events"]][-1] == (
        "AuthorizationIssued"
    )
    assert not (tmp_path / "rems.db").exists()
