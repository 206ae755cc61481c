"""`rems apply` in groups: one transaction per group of lines, the same results and the same
stored bytes as one transaction per line, results only after the group is stored, and a
failed group applied again line by line (issue 13; DESIGN.md, the batch contract).

Numbers are drawn from a seeded generator (a fake of our own seam, `application.numbers`) so two
runs of one input issue the same numbers and their stored events can be compared byte for byte.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

import application.numbers
from application.batch import apply_lines, apply_stream
from application.ledger import Ledger
from application.unit import Unit
from infra.settings import ClockMode, Settings
from simulation.demo import run_demo
from tests.program import TZ, Program


class SeededBits:
    """`secrets.randbits` from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def randbits(self, k: int) -> int:
        """k random bits."""
        return self._random.getrandbits(k)


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorization and confirmation numbers from seed 1 until the test ends."""
    monkeypatch.setattr(application.numbers, "secrets", SeededBits(1))


def reseed() -> None:
    """Start the seeded number sequence again."""
    application.numbers.secrets = SeededBits(1)  # type: ignore[attr-defined,assignment]  # a seeded stand-in for the module


def open_ledger(url: str) -> Ledger:
    """A ledger under the event clock in the program's zone."""
    return Ledger(Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ))


@pytest.fixture
def program_lines(tmp_path: Path, seeded: None) -> list[bytes]:
    """A small simulated program (all six categories, months of cycles) as `rems apply` lines,
    with a blank line and a malformed one among them."""
    out = io.BytesIO()
    ledger = open_ledger(f"sqlite:///{tmp_path / 'recording.db'}")
    run_demo(ledger, patients=12, commands_out=out)
    ledger.close()
    lines = out.getvalue().splitlines(keepends=True)
    return [*lines[:5], b"\n", b'{"command": "record_cbc"\n', *lines[5:]]


RANDOM_FIELDS = ("event_id", "hash", "previous_hash")
"""Each event's random ID, and the hashes that cover it."""


def stored_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    """Every stored event in log order as (aggregate, version, topic, state without its random
    event ID and the hashes over it)."""
    rows = ledger.notifications.read(1, 1_000_000)
    return [
        (r.originator_id, r.originator_version, r.topic, _without_random(r.state)) for r in rows
    ]


def _without_random(state: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(state)
    for name in RANDOM_FIELDS:
        assert data.pop(name)
    return data


def applied(url: str, lines: list[bytes], group_size: int) -> tuple[list[Any], list[Any]]:
    """Results and stored rows of applying the lines to a fresh store."""
    reseed()
    ledger = open_ledger(url)
    try:
        results = list(apply_lines(ledger, lines, group_size=group_size))
        return results, stored_rows(ledger)
    finally:
        ledger.close()


def test_grouped_apply_gives_the_same_results_and_stored_bytes_as_one_line_at_a_time(
    backend_url: str, tmp_path: Path, program_lines: list[bytes]
) -> None:
    """Groups of 64 lines in one transaction each give every line the result, and the store
    every event in the same order with the same content (all but its random event ID), that
    one transaction per line gives."""
    one_by_one = applied(f"sqlite:///{tmp_path / 'single.db'}", program_lines, 1)
    grouped = applied(backend_url, program_lines, 64)
    assert grouped[0] == one_by_one[0]
    assert grouped[1] == one_by_one[1]
    assert len(one_by_one[0]) == len(program_lines) - 1  # the blank line has no result
    assert one_by_one[0][5]["error"]["code"] == "invalid"


def test_a_group_result_is_given_only_after_the_whole_group_is_stored(ledger: Ledger) -> None:
    """The first result of a group comes when every event of the group is already in the
    store, so a crash can never lose a line whose result was printed."""
    p = Program(ledger).participants()
    at = p.now.isoformat()
    lines = [
        f'{{"command": "register_prescriber", "at": "{at}", "prescriber_id": "DR{n}", '
        f'"name": "Dr {n}", "address": "1 Way", "fax": "555"}}'
        for n in range(10, 20)
    ]
    before = ledger.notifications.end()
    results = apply_lines(ledger, lines, group_size=10)
    first = next(results)
    assert first == {"line": 1, "ok": True, "prescriber_id": "DR10"}
    assert ledger.notifications.end() - before == 10
    assert [r["line"] for r in results] == list(range(2, 11))


def test_a_repeated_command_id_inside_one_group_is_a_duplicate_of_the_first(
    ledger: Ledger,
) -> None:
    """A command_id used twice in one group: the second line sees the first line's receipt,
    held but not yet stored, and answers `duplicate` with its result."""
    p = Program(ledger).participants()
    p.ready_male("M1")
    line = (
        f'{{"command": "record_cbc", "at": "{p.now.isoformat()}", "command_id": "cbc-1", '
        f'"patient_id": "M1", "collected_at": "{p.now.isoformat()}"}}'
    )
    first, second = apply_lines(ledger, [line, line], group_size=2)
    assert first["ok"] is True
    assert second["error"]["code"] == "duplicate"
    assert second["original"] == {k: v for k, v in first.items() if k != "line"}


class InterruptedLedger(Ledger):
    """A ledger whose first multi-event save is raced by another instance appending to the
    same patient just before it (a fake for the seam between decision and commit)."""

    name = "rems"  # the store's tables are named after the application

    def __init__(self, settings: Settings, rival: Ledger, line: str) -> None:
        super().__init__(settings)
        self.rival, self.line, self.raced = rival, line, False

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Let the rival append first, once."""
        if not self.raced and len(objs) > 1:
            self.raced = True
            assert self.rival.execute(self.line)["ok"]
        return super().save(*objs, **kwargs)


def test_a_group_that_conflicts_is_applied_again_line_by_line_and_loses_nothing(
    backend_url: str,
) -> None:
    """Another writer appends to a patient the group holds: the group's append conflicts and
    stores nothing, every line is applied again in its own transaction on the fresh state,
    and the rival's event and every line's event are stored once, versions without gaps."""
    rival = open_ledger(backend_url)
    p = Program(rival).participants()
    p.ready_male("M1")
    when = p.now.isoformat()
    cbc = (
        f'{{"command": "record_cbc", "at": "{when}", "patient_id": "M1", "collected_at": "{when}"}}'
    )
    survey = (
        f'{{"command": "record_patient_survey", "at": "{when}", "patient_id": "M1", '
        '"compliant": true}'
    )
    ledger = InterruptedLedger(
        Settings(database_url=backend_url, clock=ClockMode.EVENT, timezone=TZ), rival, cbc
    )
    try:
        results = list(apply_lines(ledger, [survey, cbc, survey], group_size=3))
        assert [r["ok"] for r in results] == [True, True, True], results
        types = [e.type_name for e in ledger.stored_events(Unit.patient_aggregate_id("M1"))]
        assert types[-4:] == [
            "CbcRecorded",
            "PatientSurveyCompleted",
            "CbcRecorded",
            "PatientSurveyCompleted",
        ]
        versions = [
            e.originator_version for e in ledger.stored_events(Unit.patient_aggregate_id("M1"))
        ]
        assert versions == list(range(1, len(versions) + 1))
    finally:
        ledger.close()
        rival.close()


def test_rems_apply_on_a_pipe_answers_a_line_before_the_next_is_written(ledger: Ledger) -> None:
    """`apply_stream` groups only lines already written: a caller that writes one line and
    waits gets its result without writing more."""
    p = Program(ledger).participants()
    read_end, write_end = os.pipe()
    line = (
        f'{{"command": "register_prescriber", "at": "{p.now.isoformat()}", '
        '"prescriber_id": "DR9", "name": "Dr 9", "address": "1 Way", "fax": "555"}\n'
    )
    os.write(write_end, line.encode())
    with os.fdopen(read_end, "rb") as source:
        results = apply_stream(ledger, source)
        assert next(results) == {"line": 1, "ok": True, "prescriber_id": "DR9"}
        os.write(write_end, b"\n" + line.replace("DR9", "DR8").encode())
        os.close(write_end)
        assert list(results) == [{"line": 3, "ok": True, "prescriber_id": "DR8"}]
