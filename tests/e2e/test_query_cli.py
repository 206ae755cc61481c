"""The query commands of `rems` as a user runs them (DESIGN.md, "Queries"; issue 4): a real
subprocess (`python -m entrypoints.cli`) on a SQLite file holding a simulated program, event clock.

`due`, `report`, `replay-decision`, `projections rebuild` and `eligibility` (read model, and by
event replay with `--as-of`) print the documented JSON; bad input (unknown patient or number, an
as-of before the ledger existed, a malformed as-of or reference) exits non-zero with a clear
message on stderr and changes nothing in the database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from application import queries
from application.views import Views
from domain.decision_events import AuthorizationDenied, AuthorizationIssued, DispenseConfirmed
from domain.registry import aggregate_id
from simulation.demo import run_demo
from tests.conftest import make_ledger

PATIENTS = 12
PATIENT_IDS = ["PT-LAPSED", *[f"PT-{n:05d}" for n in range(1, PATIENTS + 1)]]


@dataclass(frozen=True)
class Store:
    """A SQLite file holding a simulated program, and facts about it read in-process."""

    url: str
    path: Path
    cwd: Path
    summary: dict[str, Any]
    last_at: str
    events: int
    authorization_number: str
    confirmation_number: str
    denial_reference: str
    eligible: str
    ineligible: str


def rems_env(url: str) -> dict[str, str]:
    """The environment of a `rems` run: the database URL and the event clock, nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env.update({"REMS_DATABASE_URL": url, "REMS_CLOCK": "event"})
    return env


def command_line(*args: str) -> list[str]:
    """`python -m entrypoints.cli.main ARGS`."""
    return [sys.executable, "-m", "entrypoints.cli.main", *args]


def rems(store: Store, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run `rems ARGS` on the store."""
    return subprocess.run(
        command_line(*args),
        capture_output=True,
        env=rems_env(store.url),
        cwd=store.cwd,
        timeout=60,
        check=False,
    )


def json_of(completed: subprocess.CompletedProcess[bytes]) -> Any:
    """The one JSON document a `--json` query printed (asserting success)."""
    assert completed.returncode == 0, completed.stderr.decode()
    assert completed.stderr == b"", completed.stderr.decode()
    lines = completed.stdout.splitlines()
    assert len(lines) == 1, completed.stdout
    return orjson.loads(lines[0])


def dump(path: Path) -> list[str]:
    """Every table's rows of the SQLite file, as SQL (the events and the read models)."""
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A simulated program of 12 patients on a SQLite file, read models caught up."""
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "rems.db"
    url = f"sqlite:///{path}"
    ledger = make_ledger(url)
    try:
        summary = run_demo(ledger, patients=PATIENTS)
        assert ledger.last_recorded_at is not None
        views = Views(ledger)
        try:
            views.runner.catch_up()
        finally:
            views.close()
        numbers: dict[str, str] = {}
        verdicts: dict[bool, str] = {}
        for patient_id in PATIENT_IDS:
            for event in ledger.stored_events(aggregate_id("patient", patient_id)):
                if isinstance(event, AuthorizationIssued):
                    numbers.setdefault("authorization", event.authorization_number)
                elif isinstance(event, DispenseConfirmed):
                    numbers.setdefault("confirmation", event.confirmation_number)
                elif isinstance(event, AuthorizationDenied):
                    numbers.setdefault("denial", f"{patient_id}@{event.originator_version}")
            eligible = queries.eligibility(ledger, patient_id)["eligible"]
            verdicts.setdefault(eligible, patient_id)
        yield Store(
            url=url,
            path=path,
            cwd=folder,
            summary=summary,
            last_at=ledger.last_recorded_at.isoformat(),
            events=ledger.notifications.end(),
            authorization_number=numbers["authorization"],
            confirmation_number=numbers["confirmation"],
            denial_reference=numbers["denial"],
            eligible=verdicts[True],
            ineligible=verdicts[False],
        )
    finally:
        ledger.close()


def in_process(store: Store) -> tuple[Any, Views]:
    """A ledger and read models on the store, opened in this process (close both)."""
    ledger = make_ledger(store.url)
    return ledger, Views(ledger)


# --------------------------------------------------------------------------- the queries


def test_due_json_is_the_work_queue_of_the_last_recorded_day(store: Store) -> None:
    """`rems due --json` prints the work queue on the ledger's last recorded day, the same as
    the read model answers in-process; `--on DATE` asks for another day."""
    ledger, views = in_process(store)
    try:
        today = json_of(rems(store, "due", "--json"))
        assert today == views.due(ledger.last_recorded_at)
        assert today["on"] == store.last_at[:10]
        later = json_of(rems(store, "due", "--on", "2026-08-20", "--json"))
        assert later == views.due(queries.parse_as_of("2026-08-20", ledger))
        assert later["on"] == "2026-08-20"
        assert later["patients"], "six weeks on, surveys and tests are overdue"
        overdue = [e["most_overdue_days"] for e in later["patients"]]
        assert overdue == sorted(overdue, reverse=True)
    finally:
        views.close()
        ledger.close()


def test_report_json_counts_every_authorization_once(store: Store) -> None:
    """`rems report --json` prints the monthly counts; they add up to the simulation's
    authorizations issued and denied."""
    report = json_of(rems(store, "report", "--json"))
    assert sum(m["issued"] for m in report["months"]) == store.summary["authorizations_issued"]
    assert sum(m["denied"] for m in report["months"]) == store.summary["authorizations_denied"]
    ledger, views = in_process(store)
    try:
        assert report == views.report()
    finally:
        views.close()
        ledger.close()


@pytest.mark.parametrize(
    "which", ["authorization_number", "confirmation_number", "denial_reference"]
)
def test_replay_decision_json_is_the_same(store: Store, which: str) -> None:
    """`rems replay-decision REF --json` (an RA- number, an RC- number, PATIENT_ID@VERSION)
    re-runs the decision and prints `same: true`."""
    reference = getattr(store, which)
    answer = json_of(rems(store, "replay-decision", reference, "--json"))
    key = "reference" if which == "denial_reference" else which
    assert answer[key] == reference
    assert answer["same"] is True
    assert answer["original"] == answer["replayed"]


def test_projections_rebuild_reapplies_the_whole_log_with_the_same_result(store: Store) -> None:
    """`rems projections rebuild` re-applies every stored event and the report is unchanged."""
    ledger, views = in_process(store)
    try:
        before = views.report()
    finally:
        views.close()
        ledger.close()
    completed = rems(store, "projections", "rebuild")
    assert completed.returncode == 0, completed.stderr.decode()
    assert orjson.loads(completed.stdout) == {"applied": store.events, "position": store.events}
    assert json_of(rems(store, "report", "--json")) == before


@pytest.mark.parametrize("which", ["eligible", "ineligible"])
def test_eligibility_read_model_equals_as_of_the_last_recorded_time(
    store: Store, which: str
) -> None:
    """`rems eligibility ID --json` (read model) prints exactly what `--as-of <last recorded
    time>` (event replay) prints."""
    patient_id = getattr(store, which)
    from_view = json_of(rems(store, "eligibility", patient_id, "--json"))
    replayed = json_of(rems(store, "eligibility", patient_id, "--as-of", store.last_at, "--json"))
    assert from_view == replayed
    assert from_view["patient_id"] == patient_id
    assert from_view["as_of"] == store.last_at
    assert from_view["eligible"] is (which == "eligible")


# --------------------------------------------------------------------------- bad input

BAD_INPUT: dict[str, tuple[tuple[str, ...], str, str]] = {
    # name: (arguments, expected error code, words expected in the message on stderr)
    "unknown patient (read model)": (
        ("eligibility", "PT-NOPE", "--json"),
        "not_found",
        "PT-NOPE is not enrolled",
    ),
    "unknown patient (history)": (("history", "PT-NOPE", "--json"), "not_found", "PT-NOPE"),
    "unknown authorization number": (
        ("replay-decision", "RA-0000-0000-0000", "--json"),
        "not_found",
        "RA-0000-0000-0000",
    ),
    "eligibility as of before the ledger existed": (
        ("eligibility", "PT-00002", "--as-of", "2020-01-01", "--json"),
        "invalid",
        "before the ledger existed",
    ),
    "as-of not a date": (
        ("eligibility", "PT-00002", "--as-of", "2026-13-45", "--json"),
        "invalid",
        "as-of",
    ),
    "as-of without offset": (
        ("eligibility", "PT-00002", "--as-of", "2026-06-01T09:00", "--json"),
        "invalid",
        "UTC offset",
    ),
    "due on not a date": (("due", "--on", "soon", "--json"), "invalid", "soon"),
    "malformed reference": (
        ("replay-decision", "PT-00001@first", "--json"),
        "invalid",
        "PATIENT_ID@VERSION",
    ),
}


@dataclass(frozen=True)
class BadRuns:
    """The completed bad-input runs by name, and whether the database is unchanged after."""

    runs: dict[str, subprocess.CompletedProcess[bytes]]
    unchanged: bool


@pytest.fixture(scope="module")
def bad_runs(store: Store) -> BadRuns:
    """Every bad-input run, started at once, and whether the database dump is the same after
    them as before."""
    before = dump(store.path)
    started = {
        name: subprocess.Popen(
            command_line(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=rems_env(store.url),
            cwd=store.cwd,
        )
        for name, (args, _, _) in BAD_INPUT.items()
    }
    runs: dict[str, subprocess.CompletedProcess[bytes]] = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=180)  # all start at once: a loaded CI machine
        runs[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return BadRuns(runs=runs, unchanged=dump(store.path) == before)


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_is_a_clear_error_with_a_non_zero_exit(bad_runs: BadRuns, name: str) -> None:
    """Bad input exits non-zero (1 for not_found, 2 for invalid), prints the error result as JSON
    and a one-line message naming the problem on stderr, without a traceback."""
    _, code, words = BAD_INPUT[name]
    completed = bad_runs.runs[name]
    stderr = completed.stderr.decode()
    assert completed.returncode == (2 if code == "invalid" else 1), stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("rems: ")
    assert words in stderr
    result = orjson.loads(completed.stdout)
    assert result["ok"] is False
    assert result["error"]["code"] == code
    assert words in result["error"]["message"]


def test_bad_input_changes_nothing(bad_runs: BadRuns) -> None:
    """After every bad-input run, the database (events and read models) is byte-for-byte the
    same SQL dump as before."""
    assert len(bad_runs.runs) == len(BAD_INPUT)
    assert bad_runs.unchanged


def test_as_of_with_a_space_separator_is_that_instant_or_rejected(store: Store) -> None:
    """`--as-of 'YYYY-MM-DD HH:MM:SS+HH:MM'` either means that instant (as with 'T') or is
    rejected with a clear message; it never silently means another instant."""
    spaced = store.last_at.replace("T", " ")
    completed = rems(store, "eligibility", store.eligible, "--as-of", spaced, "--json")
    if completed.returncode != 0:
        assert "as-of" in completed.stderr.decode()
        return
    assert orjson.loads(completed.stdout)["as_of"] == store.last_at


def test_history_as_of_shows_only_what_was_recorded_by_then(store: Store) -> None:
    """`rems history ID --as-of T --json` lists only the events recorded at or before T (an
    event recorded at T included), in recorded order."""
    whole = json_of(rems(store, "history", store.ineligible, "--json"))["events"]
    assert len(whole) > 3
    cut = whole[len(whole) // 2]["recorded_at"]
    known = json_of(rems(store, "history", store.ineligible, "--as-of", cut, "--json"))["events"]
    expected = [
        e for e in whole if datetime.fromisoformat(e["recorded_at"]) <= datetime.fromisoformat(cut)
    ]
    assert known == expected
    assert whole[len(whole) // 2] in known
    assert 0 < len(known) < len(whole)
