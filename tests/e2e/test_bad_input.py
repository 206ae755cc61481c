"""Bad input through the batch interface: `invalid`, `not_found`, `denied`; the batch goes on.

Each bad line is fed to `apply_lines` (the code under `rems apply`) followed by a good
line; the store is counted between the two, so "nothing of that command is recorded" is checked
on the real SQLite store. One test runs the same lines through the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from application.batch import apply_lines
from application.ledger import Ledger
from application.queries import history
from infra.settings import ClockMode, Settings
from tests.builders import enrollment_form
from tests.program import ALL_TOPICS, TZ, Program, local, rules

Line = Callable[[Program], str]


def stored_count(ledger: Ledger) -> int:
    """How many events the whole store holds."""
    return ledger.notifications.end()


def command(program: Program, name: str, /, **fields: Any) -> str:
    """A JSON line for a command at the program's current time (fields may override `at`)."""
    body: dict[str, Any] = {"command": name, "at": program.now.isoformat(), **fields}
    return orjson.dumps({k: v for k, v in body.items() if v is not None}).decode()


def authorization(**overrides: Any) -> dict[str, Any]:
    """A complete, valid request_authorization body for M1 by DR1."""
    return {
        "patient_id": "M1",
        "prescriber_id": "DR1",
        "daily_dose_mg": 10,
        "days_supply": 28,
        "refills": 0,
        "channel": "electronic",
        **overrides,
    }


def enrollment(**overrides: Any) -> dict[str, Any]:
    """A complete, valid enroll_patient body for a new female patient N1."""
    fields = {
        "name": "New Patient",
        "address": "4 Pine St",
        "phone": "555-0142",
        "date_of_birth": "1985-07-01",
    }
    return enrollment_form(**{"patient_id": "N1", **fields, **overrides})


def good_line(program: Program) -> str:
    """A command that succeeds after any bad line: a CBC for M1 now."""
    return command(program, "record_cbc", patient_id="M1", collected_at=program.now.isoformat())


@pytest.fixture
def program(program: Program) -> Program:
    """DR1 and PH1 certified; F1 (FRP) enrolled; M1 (adult male) enrolled and counseled; the
    clock one hour later."""
    assert program.enroll("F1")["ok"]
    program.ready_male("M1")
    program.advance(hours=1)
    return program


def apply_with_counts(ledger: Ledger, lines: list[str]) -> Iterator[tuple[dict[str, Any], int]]:
    """Each result of a batch with the number of events its line appended."""
    count = stored_count(ledger)
    for result in apply_lines(ledger, lines):
        after = stored_count(ledger)
        yield result, after - count
        count = after


def tomorrow(p: Program) -> str:
    """The same time tomorrow."""
    return (p.now + timedelta(days=1)).isoformat()


# id, line, the field it must name (None: no field), text the message must contain
INVALID: list[tuple[str, Line, str | None, str]] = [
    ("malformed-json", lambda p: '{"command": "record_cbc", "patient_id": "M1"', None, "JSON"),
    ("json-array", lambda p: f"[{good_line(p)}]", None, "JSON object"),
    ("json-string", lambda p: '"record_cbc"', None, "JSON object"),
    (
        "missing-command",
        lambda p: orjson.dumps({"at": p.now.isoformat(), "patient_id": "M1"}).decode(),
        "command",
        "command",
    ),
    ("unknown-command", lambda p: command(p, "record_cbcs", patient_id="M1"), "command", "cbcs"),
    (
        "misspelled-field-extra",
        lambda p: command(p, "request_authorization", **authorization(dayz_supply=28)),
        "dayz_supply",
        "dayz_supply",
    ),
    (
        "days-supply-string",
        lambda p: command(p, "request_authorization", **authorization(days_supply="28")),
        "days_supply",
        "days_supply",
    ),
    (
        "refills-fraction",
        lambda p: command(p, "request_authorization", **authorization(refills=0.5)),
        "refills",
        "refills",
    ),
    (
        "patient-signed-yes",
        lambda p: command(p, "enroll_patient", **enrollment(patient_signed="yes")),
        "patient_signed",
        "patient_signed",
    ),
    (
        "collected-at-tomorrow",
        lambda p: command(
            p,
            "record_pregnancy_test",
            patient_id="F1",
            collected_at=tomorrow(p),
            result="negative",
            sensitivity_miu_per_ml=25,
        ),
        "collected_at",
        "collected_at",
    ),
    (
        "contraception-started-tomorrow",
        lambda p: command(
            p,
            "record_contraception",
            patient_id="F1",
            methods=["iud", "male_condom"],
            started_on=(p.today + timedelta(days=1)).isoformat(),
        ),
        "started_on",
        "started_on",
    ),
    (
        "collected-at-one-second-ahead",
        lambda p: command(
            p,
            "record_cbc",
            patient_id="M1",
            collected_at=(p.now + timedelta(seconds=1)).isoformat(),
        ),
        "collected_at",
        "future",
    ),
    (
        "date-of-birth-next-year",
        lambda p: command(
            p, "enroll_patient", **enrollment(date_of_birth=f"{p.today.year + 1}-01-15")
        ),
        "date_of_birth",
        "date_of_birth",
    ),
    (
        "at-before-last-recorded",
        lambda p: command(
            p,
            "record_cbc",
            at=(p.now - timedelta(minutes=61)).isoformat(),
            patient_id="M1",
            collected_at=(p.now - timedelta(days=1)).isoformat(),
        ),
        "at",
        "earlier",
    ),
    (
        "missing-at",
        lambda p: orjson.dumps(
            {"command": "record_cbc", "patient_id": "M1", "collected_at": p.now.isoformat()}
        ).decode(),
        "at",
        "at",
    ),
    (
        "at-without-offset",
        lambda p: command(
            p,
            "record_cbc",
            at=p.now.replace(tzinfo=None).isoformat(),
            patient_id="M1",
            collected_at=p.now.isoformat(),
        ),
        "at",
        "at",
    ),
    (
        "pregnancy-test-for-male",
        lambda p: command(
            p,
            "record_pregnancy_test",
            patient_id="M1",
            collected_at=p.now.isoformat(),
            result="negative",
            sensitivity_miu_per_ml=25,
        ),
        "patient_id",
        "female patients only",
    ),
    (
        "menstrual-abnormality-for-male",
        lambda p: command(
            p, "record_menstrual_abnormality", patient_id="M1", noted_on=p.today.isoformat()
        ),
        "patient_id",
        "female patients only",
    ),
    (
        "menstruation-on-a-male-enrollment",
        lambda p: command(
            p, "enroll_patient", **enrollment(patient_id="N2", sex="male", menstruation="regular")
        ),
        "menstruation",
        "menstruation",
    ),
    (
        "unknown-language",
        lambda p: command(p, "enroll_patient", **enrollment(language="klingon")),
        "language",
        "language",
    ),
    (
        "bad-icd10",
        lambda p: command(p, "enroll_patient", **enrollment(diagnosis_icd10="myeloma")),
        "diagnosis_icd10",
        "diagnosis_icd10",
    ),
    (
        "unknown-counseling-topic",
        lambda p: command(
            p, "record_counseling", patient_id="M1", prescriber_id="DR1", topics=["vibes"]
        ),
        "topics",
        "topics",
    ),
]


@pytest.mark.parametrize(
    ("line", "field", "text"),
    [pytest.param(line, field, text, id=name) for name, line, field, text in INVALID],
)
def test_bad_line_is_invalid_names_the_field_records_nothing_and_the_batch_continues(
    program: Program, line: Line, field: str | None, text: str
) -> None:
    """A malformed or ill-typed line answers `invalid` naming the field, appends nothing, and the
    next line of the batch is applied."""
    bad, good = list(apply_with_counts(program.ledger, [line(program), good_line(program)]))
    result, appended = bad
    assert result["line"] == 1
    assert result["ok"] is False
    error = result["error"]
    assert error["code"] == "invalid", error
    assert text in error["message"]
    assert error["reasons"] == []
    if field is None:
        assert "field" not in error
    else:
        assert error["field"] == field
        assert field in error["message"]
    assert appended == 0
    assert good[0]["line"] == 2
    assert good[0]["ok"] is True, good[0]
    assert good[1] == 1


def test_misspelled_field_in_place_of_a_required_one_names_both(program: Program) -> None:
    """`dayz_supply` instead of `days_supply` is `invalid`; the message names the unknown field
    and the missing one, and nothing is recorded."""
    body = authorization()
    body["dayz_supply"] = body.pop("days_supply")
    [(result, appended)] = apply_with_counts(
        program.ledger, [command(program, "request_authorization", **body)]
    )
    error = result["error"]
    assert error["code"] == "invalid"
    assert "dayz_supply" in error["message"]
    assert "days_supply" in error["message"].replace("dayz_supply", "")
    assert error["field"] in {"dayz_supply", "days_supply"}
    assert appended == 0


def test_invalid_line_with_a_command_id_keeps_no_receipt(program: Program) -> None:
    """An `invalid` line records nothing, not even its command_id, so the corrected command with
    the same command_id is applied (not answered `duplicate`)."""
    bad = command(program, "record_patient_survey", patient_id="M1", compliant="yes")
    fixed = command(program, "record_patient_survey", patient_id="M1", compliant=True)
    bad_id = bad[:-1] + ', "command_id": "survey-1"}'
    fixed_id = fixed[:-1] + ', "command_id": "survey-1"}'
    (first, appended), (second, _) = apply_with_counts(program.ledger, [bad_id, fixed_id])
    assert first["error"]["code"] == "invalid"
    assert appended == 0
    assert second["ok"] is True, second


def test_the_whole_bad_batch_through_the_cli_exits_zero_with_every_line_answered(
    tmp_path: Path,
) -> None:
    """Through the real `rems apply -`, every bad line answers `invalid` with its line number,
    the good lines between them are applied, and the exit status is 0."""
    p = Program(None)  # type: ignore[arg-type]  # only its clock is used: lines are built here
    setup = [
        command(p, "register_prescriber", prescriber_id="DR1", name="Dr", address="A", fax="F"),
        command(p, "certify_prescriber", prescriber_id="DR1"),
        command(p, "enroll_patient", **enrollment(patient_id="F1")),
        command(p, "enroll_patient", **enrollment(patient_id="M1", sex="male", menstruation=None)),
    ]
    p.advance(hours=1)
    lines = list(setup)
    for _name, line, _field, _text in INVALID:
        lines.append(line(p))
        lines.append(good_line(p))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env.update({"REMS_DATABASE_URL": f"sqlite:///{tmp_path / 'bad.db'}", "REMS_CLOCK": "event"})
    completed = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", "apply", "-"],
        input="\n".join(lines).encode() + b"\n",
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    results = [orjson.loads(line) for line in completed.stdout.splitlines()]
    assert [r["line"] for r in results] == list(range(1, len(lines) + 1))
    assert all(r["ok"] for r in results[: len(setup)]), results[: len(setup)]
    tail = results[len(setup) :]
    assert [r["error"]["code"] for r in tail[0::2]] == ["invalid"] * len(INVALID)
    assert all(r["ok"] for r in tail[1::2]), [r for r in tail[1::2] if not r["ok"]]


# ------------------------------------------------------------------------ not_found


NOT_FOUND: list[tuple[str, Line]] = [
    (
        "unknown-patient-fact",
        lambda p: command(p, "record_cbc", patient_id="GHOST", collected_at=p.now.isoformat()),
    ),
    (
        "unknown-patient-authorization-by-unknown-prescriber",
        lambda p: command(
            p, "request_authorization", **authorization(patient_id="GHOST", prescriber_id="DRX")
        ),
    ),
    (
        "unknown-authorization-number",
        lambda p: command(
            p,
            "request_dispense_confirmation",
            pharmacy_id="PH1",
            patient_id="M1",
            authorization_number="RA-0000-0000-0000",
            days_supply=28,
        ),
    ),
    (
        "unknown-authorization-number-and-unknown-pharmacy",
        lambda p: command(
            p,
            "request_dispense_confirmation",
            pharmacy_id="PHX",
            patient_id="M1",
            authorization_number="RA-0000-0000-0000",
            days_supply=28,
        ),
    ),
    (
        "unknown-confirmation-number",
        lambda p: command(
            p,
            "record_dispense",
            pharmacy_id="PH1",
            confirmation_number="RC-0000-0000-0000",
            medication_guide_provided=True,
            counseled=True,
            capsules=28,
        ),
    ),
]


@pytest.mark.parametrize("line", [pytest.param(line, id=name) for name, line in NOT_FOUND])
def test_unknown_patient_or_number_is_not_found_and_records_nothing(
    program: Program, line: Line
) -> None:
    """An unknown patient, authorization number or confirmation number is `not_found` (winning
    over any denial) with an empty reasons list, and nothing is recorded."""
    [(result, appended)] = apply_with_counts(program.ledger, [line(program)])
    assert result["ok"] is False
    assert result["error"]["code"] == "not_found", result
    assert result["error"]["reasons"] == []
    assert appended == 0


# ------------------------------------------------------------------------ denied participants


def test_unknown_prescriber_requesting_an_authorization_is_denied_p1_and_p5(
    program: Program,
) -> None:
    """An unknown prescriber asking for an authorization is `denied` with exactly P1 and P5 (not
    `not_found`), and the denial is recorded on the patient."""
    [(result, appended)] = apply_with_counts(
        program.ledger,
        [command(program, "request_authorization", **authorization(prescriber_id="DRX"))],
    )
    assert result["error"]["code"] == "denied", result
    assert sorted(rules(result)) == ["P1", "P5"]
    assert appended == 1
    last = history(program.ledger, "M1")["events"][-1]
    assert last["type"] == "AuthorizationDenied"
    assert last["prescriber_id"] == "DRX"


def test_unknown_pharmacy_asking_for_a_confirmation_is_denied_p2_and_d1(program: Program) -> None:
    """An unknown pharmacy asking to confirm a valid authorization is `denied` with exactly P2 and
    D1, the denial is recorded, and the authorization stays usable by a certified pharmacy."""
    auth = program.authorize("M1")
    assert auth["ok"], auth
    number = auth["authorization_number"]
    [(result, appended)] = apply_with_counts(
        program.ledger,
        [
            command(
                program,
                "request_dispense_confirmation",
                pharmacy_id="PHX",
                patient_id="M1",
                authorization_number=number,
                days_supply=28,
            )
        ],
    )
    assert result["error"]["code"] == "denied", result
    assert sorted(rules(result)) == ["D1", "P2"]
    assert appended == 1
    assert history(program.ledger, "M1")["events"][-1]["type"] == "DispenseDenied"
    assert program.confirm(number, "M1")["ok"]


def test_unknown_pharmacy_with_another_patients_authorization_is_denied_p2_and_d1(
    program: Program,
) -> None:
    """An unknown pharmacy presenting M1's authorization for F1 is denied with both D1 (not this
    patient's authorization) and P2 (not a certified pharmacy)."""
    auth = program.authorize("M1")
    assert auth["ok"], auth
    result = program.confirm(auth["authorization_number"], "F1", pharmacy_id="PHX")
    assert result["error"]["code"] == "denied", result
    assert sorted(rules(result)) == ["D1", "P2"]


def test_event_clock_accepts_an_at_equal_to_the_last_recorded_one(program: Program) -> None:
    """Under the event clock `at` may equal the last recorded `at` (never earlier): the same
    instant is accepted, one microsecond before it is `invalid`."""
    last = program.ledger.last_recorded_at
    assert last is not None
    same = command(program, "record_cbc", at=last.isoformat(), patient_id="M1")
    same = same[:-1] + f', "collected_at": "{last.isoformat()}"}}'
    earlier_at = (last - timedelta(microseconds=1)).isoformat()
    earlier = command(program, "record_cbc", at=earlier_at, patient_id="M1")
    earlier = earlier[:-1] + f', "collected_at": "{earlier_at}"}}'
    (ok, appended), (bad, nothing) = apply_with_counts(program.ledger, [same, earlier])
    assert ok["ok"] is True, ok
    assert appended == 1
    assert bad["error"]["code"] == "invalid"
    assert bad["error"]["field"] == "at"
    assert nothing == 0


def test_a_bare_date_in_the_future_is_judged_in_the_program_zone(program: Program) -> None:
    """At 22:30 in New York (already the next day in UTC) a bare date of the next day is in the
    future and `invalid`, while today's date in New York is accepted."""
    late = local("2026-03-01 22:30").astimezone(ZoneInfo("UTC"))
    assert late.date().isoformat() == "2026-03-02"
    lines = [
        command(
            program,
            "report_pregnancy",
            at=late.isoformat(),
            patient_id="M1",
            suspected_on=day.isoformat(),
            reported_to_medwatch=True,
            reported_to_rems=True,
        )
        for day in (late.date(), late.date() - timedelta(days=1))
    ]
    (future, nothing), (today, appended) = apply_with_counts(program.ledger, lines)
    assert future["error"]["code"] == "invalid", future
    assert future["error"]["field"] == "suspected_on"
    assert nothing == 0
    assert today["ok"] is True, today
    assert appended == 1


# ------------------------------------------------------------------------ the system clock

SERVER_NOW = local("2026-03-10 12:00")


@pytest.fixture
def system_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger under the system clock, whose server clock is fixed at SERVER_NOW."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'system.db'}", clock=ClockMode.SYSTEM, timezone=TZ
    )
    ledger = Ledger(settings, clock=lambda: SERVER_NOW)
    yield ledger
    ledger.close()


def system_setup(ledger: Ledger) -> None:
    """DR1 certified and M1 (adult male) enrolled and counseled, without `at` (server time)."""
    for body in (
        {
            "command": "register_prescriber",
            "prescriber_id": "DR1",
            "name": "Dr",
            "address": "1 Way",
            "fax": "555",
        },
        {"command": "certify_prescriber", "prescriber_id": "DR1"},
        {"command": "enroll_patient", **enrollment(patient_id="M1", sex="male", menstruation=None)},
        {
            "command": "record_counseling",
            "patient_id": "M1",
            "prescriber_id": "DR1",
            "topics": ALL_TOPICS,
        },
    ):
        result = ledger.execute(body)
        assert result["ok"], result


def at_offset(**delta: float) -> str:
    """SERVER_NOW moved by a timedelta, as ISO."""
    return (SERVER_NOW + timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        pytest.param({"minutes": -6}, False, id="6-minutes-early"),
        pytest.param({"minutes": 6}, False, id="6-minutes-late"),
        pytest.param({"minutes": -5}, True, id="exactly-5-minutes-early"),
        pytest.param({"minutes": 4, "seconds": 59}, True, id="4m59s-late"),
        pytest.param({"days": -1}, False, id="yesterday"),
    ],
)
def test_system_clock_decision_at_must_be_within_5_minutes_of_the_server_clock(
    system_ledger: Ledger, offset: dict[str, float], accepted: bool
) -> None:
    """Under the system clock, a decision whose `at` is more than 5 minutes from the server clock
    is `invalid` naming `at` and records nothing; within 5 minutes it is decided now."""
    system_setup(system_ledger)
    before = stored_count(system_ledger)
    result = system_ledger.execute(
        {"command": "request_authorization", "at": at_offset(**offset), **authorization()}
    )
    if accepted:
        assert result["ok"] is True, result
        assert result["expires_at"] == "2026-04-09T23:59:59-04:00"
    else:
        assert result["error"]["code"] == "invalid", result
        assert result["error"]["field"] == "at"
        assert "at" in result["error"]["message"]
        assert stored_count(system_ledger) == before


def test_system_clock_accepts_a_fact_with_a_past_at_recorded_at_server_time(
    system_ledger: Ledger,
) -> None:
    """Under the system clock a fact may carry a past `at` (a late entry): it is accepted, happened
    then, and is recorded at the server clock."""
    system_setup(system_ledger)
    week_ago = at_offset(days=-7)
    result = system_ledger.execute(
        {"command": "record_patient_survey", "at": week_ago, "patient_id": "M1", "compliant": True}
    )
    assert result["ok"] is True, result
    last = history(system_ledger, "M1")["events"][-1]
    assert last["type"] == "PatientSurveyCompleted"
    assert datetime.fromisoformat(last["occurred_at"]) == SERVER_NOW - timedelta(days=7)
    assert datetime.fromisoformat(last["recorded_at"]) == SERVER_NOW


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"at": at_offset(hours=1), "collected_at": at_offset(minutes=-1)}, "at", id="at"
        ),
        pytest.param({"collected_at": at_offset(minutes=1)}, "collected_at", id="collected_at"),
    ],
)
def test_system_clock_refuses_a_future_fact(
    system_ledger: Ledger, body: dict[str, str], field: str
) -> None:
    """Under the system clock a fact is never future-dated: a future `at` or collection time is
    `invalid` naming the field."""
    system_setup(system_ledger)
    before = stored_count(system_ledger)
    result = system_ledger.execute({"command": "record_cbc", "patient_id": "M1", **body})
    assert result["error"]["code"] == "invalid", result
    assert result["error"]["field"] == field
    assert stored_count(system_ledger) == before


def test_system_clock_refuses_a_fact_whose_at_is_after_the_server_clock(
    system_ledger: Ledger,
) -> None:
    """Under the system clock a fact whose `at` is 4 minutes after the server clock is in the
    future: `invalid` naming `at`, nothing recorded."""
    system_setup(system_ledger)
    before = stored_count(system_ledger)
    result = system_ledger.execute(
        {
            "command": "record_patient_survey",
            "at": at_offset(minutes=4),
            "patient_id": "M1",
            "compliant": True,
        }
    )
    assert result["ok"] is False, history(system_ledger, "M1")["events"][-1]
    assert result["error"]["code"] == "invalid"
    assert result["error"]["field"] == "at"
    assert stored_count(system_ledger) == before
