"""No input can break a record (issue 10, bad input 1-5): bounded instants and dates, strict
types in the nested form parts, deep nesting, normalised program IDs, Crockford numbers,
duplicate keys, a command_id naming one command, plausible values — through `rems apply`'s
path (`Ledger.execute` on raw lines) and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from application.batch import apply_lines
from application.errors import InvalidCommand
from application.queries import eligibility, history, parse_as_of
from application.replay import replay_decision
from application.views import Views
from audit.record import render
from tests.api_client import COMPLIANCE, DR1, Http
from tests.conftest import make_ledger
from tests.program import Program, rules

ENROLL_MINOR = {
    "patient_id": "KID1",
    "prescriber_id": "DR1",
    "name": "Kid Test",
    "address": "3 Elm St",
    "phone": "555-0199",
    "date_of_birth": "2015-05-01",
    "sex": "male",
    "diagnosis_icd10": "C90.00",
    "language": "english",
    "patient_signed": False,
    "prescriber_signed": True,
    "all_statements_marked": True,
}
GUARDIAN = {"name": "Gia Guardian", "signed": True, "signed_on": "2026-02-20"}
REPRESENTATIVE = {
    "name": "Rita Rep",
    "address": "4 Oak St",
    "relationship": "daughter",
    "power_of_attorney": True,
    "signed": True,
    "signed_on": "2026-02-20",
}


def line(program: Program, command: str, **fields: Any) -> bytes:
    """A raw JSON line of the command at the program's clock."""
    return orjson.dumps({"command": command, "at": program.now.isoformat(), **fields})


def invalid_field(result: dict[str, Any]) -> str:
    """The field an `invalid` result names (insisting it is `invalid`)."""
    assert result["ok"] is False, result
    assert result["error"]["code"] == "invalid", result
    field: str = result["error"]["field"]
    return field


@pytest.fixture
def enrolled(program: Program) -> Program:
    """PAT1, an adult female, enrolled at 2026-03-01 09:00."""
    assert program.enroll("PAT1")["ok"]
    return program


# ------------------------------------------------------------------ 1. instants and dates
@pytest.mark.parametrize("command", ["record_cbc", "record_pregnancy_test"])
def test_an_instant_before_1900_is_invalid_and_every_read_still_answers(
    enrolled: Program, command: str
) -> None:
    """`collected_at: 0001-01-01T00:00:00+14:00` is `invalid` naming it, records nothing, and
    the patient's eligibility, history and export answer afterwards."""
    before = enrolled.ledger.recorder.max_notification_id()
    fields: dict[str, Any] = {"patient_id": "PAT1", "collected_at": "0001-01-01T00:00:00+14:00"}
    if command == "record_pregnancy_test":
        fields |= {"result": "negative", "sensitivity_miu_per_ml": 25}
    assert invalid_field(enrolled.ledger.execute(line(enrolled, command, **fields))) == (
        "collected_at"
    )
    assert enrolled.ledger.recorder.max_notification_id() == before
    assert eligibility(enrolled.ledger, "PAT1")["patient_id"] == "PAT1"
    assert history(enrolled.ledger, "PAT1")["events"]
    assert render(enrolled.ledger, "PAT1", "html")


def test_the_1900_edge_is_judged_in_the_program_zone(enrolled: Program) -> None:
    """1900-01-01T00:00 New York is the first instant accepted; a minute earlier (and midnight
    at +14:00, still 1899 in New York) is `invalid`."""
    for text, ok in (
        ("1900-01-01T00:00:00-05:00", True),
        ("1899-12-31T23:59:00-05:00", False),
        ("1900-01-01T00:00:00+14:00", False),
    ):
        result = enrolled.ledger.execute(
            line(enrolled, "record_cbc", patient_id="PAT1", collected_at=text)
        )
        assert result["ok"] is ok, (text, result)


def test_a_birth_date_in_1850_is_invalid_naming_the_bound(program: Program) -> None:
    """An implausible birth date is `invalid`, and the message names the 1900-01-01 bound."""
    result = program.enroll("OLD1", date_of_birth="1850-01-01")
    assert invalid_field(result) == "date_of_birth"
    assert "1900-01-01" in result["error"]["message"]


def test_event_clock_at_after_2999_is_invalid_and_later_commands_still_apply(
    enrolled: Program,
) -> None:
    """Under the event clock an `at` of 9999-12-31 is `invalid` (it would refuse every later
    command), and the next ordinary command is applied."""
    far = orjson.dumps(
        {"command": "record_cbc", "at": "9999-12-31T00:00:00-05:00", "patient_id": "PAT1",
         "collected_at": enrolled.now.isoformat()}
    )  # fmt: skip
    assert invalid_field(enrolled.ledger.execute(far)) == "at"
    edge = orjson.dumps(
        {"command": "record_cbc", "at": "3000-01-01T00:00:00-05:00", "patient_id": "PAT1",
         "collected_at": enrolled.now.isoformat()}
    )  # fmt: skip
    assert invalid_field(enrolled.ledger.execute(edge)) == "at"
    enrolled.advance(hours=1)
    assert enrolled.run("record_cbc", patient_id="PAT1", collected_at=enrolled.now)["ok"]


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "3000-01-01", "1899-12-31"])
def test_a_query_time_outside_1900_to_2999_is_invalid(enrolled: Program, text: str) -> None:
    """`--as-of` / `--on` outside 1900-01-01..2999-12-31 is `invalid`, never an overflow."""
    with pytest.raises(InvalidCommand, match=r"out of bounds|before the ledger existed"):
        parse_as_of(text, enrolled.ledger)


def test_a_query_up_to_2999_12_31_answers(enrolled: Program) -> None:
    """The last day in bounds answers the eligibility and the work queue."""
    moment = parse_as_of("2999-12-31", enrolled.ledger)
    assert eligibility(enrolled.ledger, "PAT1", moment)["eligible"] is False
    with Views(enrolled.ledger) as views:
        assert views.due(moment)["on"] == "2999-12-31"


def test_http_as_of_and_due_on_9999_are_422_not_500(http: Http) -> None:
    """`?as_of=9999-12-31` and `/v1/due?on=9999-12-31` are 422 `invalid`."""
    http.participants()
    http.ready_frp()
    for path, params in (
        ("/v1/patients/PAT1/eligibility", {"as_of": "9999-12-31"}),
        ("/v1/patients/PAT1/history", {"as_of": "0001-01-01T00:00:00+14:00"}),
        ("/v1/due", {"on": "9999-12-31"}),
    ):
        response = http.get(COMPLIANCE, path, **params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid"


# ------------------------------------------------------------------ 2. form parts
@pytest.mark.parametrize("value", ["yes", 1, "true"])
@pytest.mark.parametrize(
    ("part", "field"),
    [
        ("guardian", "signed"),
        ("authorized_representative", "power_of_attorney"),
        ("authorized_representative", "signed"),
    ],
)
def test_E2_E3_a_boolean_of_a_form_part_that_is_not_json_true_false_is_invalid(
    program: Program, part: str, field: str, value: Any
) -> None:
    """Strict at every depth: `"yes"`, `1`, `"true"` for a form part's boolean are `invalid`
    naming `part.field`, and no patient is enrolled."""
    if part == "guardian":
        form = {**ENROLL_MINOR, "guardian": {**GUARDIAN, field: value}}
    else:
        form = {
            **ENROLL_MINOR,
            "date_of_birth": "1950-01-01",
            "competent": False,
            part: {**REPRESENTATIVE, field: value},
        }
    result = program.run("enroll_patient", **form)
    assert invalid_field(result) == f"{part}.{field}"
    assert program.ledger.patient_state("KID1") is None


def test_E3_power_of_attorney_as_a_string_never_skips_the_prescriber_letter(
    program: Program,
) -> None:
    """`power_of_attorney: "true"` is `invalid`, so it cannot stand in for the letter."""
    form = {
        **ENROLL_MINOR,
        "date_of_birth": "1950-01-01",
        "competent": False,
        "authorized_representative": {**REPRESENTATIVE, "power_of_attorney": "true"},
    }
    assert invalid_field(program.run("enroll_patient", **form)) == (
        "authorized_representative.power_of_attorney"
    )


@pytest.mark.parametrize("name", ["", "   ", None])
def test_E2_a_blank_guardian_name_is_a_missing_item_and_the_minor_is_not_enrolled(
    program: Program, name: str | None
) -> None:
    """A blank (or absent) guardian name is a missing item: `denied` E2 naming the name."""
    guardian = {"signed": True, "signed_on": "2026-02-20"}
    if name is not None:
        guardian["name"] = name
    result = program.run("enroll_patient", **{**ENROLL_MINOR, "guardian": guardian})
    assert result["error"]["code"] == "denied", result
    assert rules(result) == ["E2"]
    assert "name" in result["error"]["reasons"][0]["message"]
    assert program.ledger.patient_state("KID1") is None


@pytest.mark.parametrize("field", ["name", "address", "relationship"])
def test_E3_a_blank_representative_text_is_a_missing_item(program: Program, field: str) -> None:
    """A blank name, address or relationship of the representative is `denied` E3 naming it."""
    form = {
        **ENROLL_MINOR,
        "date_of_birth": "1950-01-01",
        "competent": False,
        "authorized_representative": {**REPRESENTATIVE, field: "  "},
    }
    result = program.run("enroll_patient", **form)
    assert rules(result) == ["E3"], result
    assert field in result["error"]["reasons"][0]["message"]


def test_E3_the_letters_incapacity_statement_is_its_text(program: Program) -> None:
    """`incapacity_statement` is the letter's text: `true` is `invalid`, blank is E3."""
    letter = {
        "on_letterhead": True,
        "signed_on": "2026-02-20",
        "incapacity_statement": True,
        "medical_condition": "advanced dementia",
        "representative_name": "Rita Rep",
        "representative_address": "4 Oak St",
        "relationship": "daughter",
        "accepts_responsibility": True,
    }
    form = {
        **ENROLL_MINOR,
        "date_of_birth": "1950-01-01",
        "competent": False,
        "authorized_representative": {**REPRESENTATIVE, "power_of_attorney": False},
        "prescriber_letter": letter,
    }
    result = program.run("enroll_patient", **form)
    assert invalid_field(result) == "prescriber_letter.incapacity_statement"
    blank = program.run("enroll_patient", **{**form, "prescriber_letter": {
        **letter, "incapacity_statement": " "}})  # fmt: skip
    assert rules(blank) == ["E3"]
    assert "incapacity" in blank["error"]["reasons"][0]["message"]
    stated = program.run("enroll_patient", **{**form, "prescriber_letter": {
        **letter, "incapacity_statement": "cannot weigh the risks of therapy"}})  # fmt: skip
    assert stated["ok"], stated


# ------------------------------------------------------------------ 3. deep nesting
def test_json_nested_300_deep_is_invalid_for_that_line_and_the_batch_goes_on(
    enrolled: Program,
) -> None:
    """A field nested ~300 deep is `invalid` for its line (naming the field); the next line of
    the batch is applied."""
    deep = b"[" * 300 + b"]" * 300
    bad = (
        b'{"command":"record_cbc","at":"' + enrolled.now.isoformat().encode()
        + b'","patient_id":' + deep + b',"collected_at":"' + enrolled.now.isoformat().encode()
        + b'"}'
    )  # fmt: skip
    good = line(enrolled, "record_cbc", patient_id="PAT1", collected_at=enrolled.now.isoformat())
    results = list(apply_lines(enrolled.ledger, [bad, good]))
    assert invalid_field(results[0]) == "patient_id"
    assert results[1]["ok"] is True


def test_http_deep_nesting_is_422_not_500(http: Http) -> None:
    """Over HTTP the same body is 422 naming the field."""
    http.participants()
    body = b'{"at":"' + http.now.isoformat().encode() + b'","patient_id":' + b'{"a":' * 300
    body += b"1" + b"}" * 300 + b"}"
    response = http.client.post(
        "/v1/commands/record_cbc",
        content=body,
        headers={**http.auth(DR1), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "patient_id"


# ------------------------------------------------------------------ 4. program IDs
@pytest.mark.parametrize("look_alike", ["\uff30\uff21\uff34\uff11", "pat1", " PAT1 ", "Pat1"])
def test_a_look_alike_of_an_id_is_the_same_patient(enrolled: Program, look_alike: str) -> None:
    """Full-width, lower-case or padded forms normalise to PAT1: enrolling is `duplicate` and
    facts land on PAT1."""
    again = enrolled.enroll(look_alike)
    assert again["error"]["code"] == "duplicate", again
    assert enrolled.run("record_cbc", patient_id=look_alike, collected_at=enrolled.now)["ok"]
    assert eligibility(enrolled.ledger, look_alike)["patient_id"] == "PAT1"


@pytest.mark.parametrize(
    "bad", ["PAT1\u200b", "PAT1\u0000", "../../etc/passwd", "", "   ", "-P1", "P" * 65, "P 1"]
)
def test_an_id_that_is_not_an_id_is_invalid_and_enrolls_no_one(program: Program, bad: str) -> None:
    """Zero-width, NUL, slashes, blanks, a leading '-' and over-long IDs are `invalid`."""
    before = program.ledger.recorder.max_notification_id()
    assert invalid_field(program.enroll(bad)) == "patient_id"
    assert program.ledger.recorder.max_notification_id() == before


def test_an_rc_number_is_read_case_insensitively_in_crockford(program: Program) -> None:
    """`rc-...` with `o` for 0 and `l` for 1 finds the confirmation (and `ra-` the
    authorization, in a confirmation request and in replay)."""
    program.ready_male("PAT1")
    auth = program.authorize("PAT1")["authorization_number"]
    sloppy = auth.lower().replace("0", "o").replace("1", "l")
    confirmation = program.confirm(sloppy)
    assert confirmation["ok"], confirmation
    number = confirmation["confirmation_number"]
    assert replay_decision(program.ledger, number.lower())["confirmation_number"] == number
    assert replay_decision(program.ledger, sloppy)["authorization_number"] == auth
    assert program.dispense(number.lower().replace("0", "O"))["ok"]


def test_http_paths_and_queries_normalise_ids(http: Http) -> None:
    """`/v1/patients/pat1/eligibility` answers for PAT1; an empty patient_id in a command is
    422 `invalid`, not 403."""
    http.participants()
    http.ready_frp()
    response = http.get(COMPLIANCE, "/v1/patients/pat1/eligibility")
    assert response.status_code == 200, response.text
    assert response.json()["patient_id"] == "PAT1"
    empty = http.post(DR1, "record_cbc", patient_id="", collected_at=http.now.isoformat())
    assert empty.status_code == 422, empty.text
    assert empty.json()["error"]["field"] == "patient_id"
    lower = http.post(DR1, "record_cbc", patient_id="pat1", collected_at=http.now.isoformat())
    assert lower.status_code == 200, lower.text


# ------------------------------------------------------------------ 5. keys and values
def test_a_duplicate_json_key_is_invalid_naming_it(enrolled: Program) -> None:
    """`{"patient_id": "PAT1", "patient_id": "PAT2"}` is `invalid`, not "the last wins"."""
    raw = (
        b'{"command":"record_cbc","at":"' + enrolled.now.isoformat().encode()
        + b'","patient_id":"PAT1","patient_id":"PAT2","collected_at":"'
        + enrolled.now.isoformat().encode() + b'"}'
    )  # fmt: skip
    assert invalid_field(enrolled.ledger.execute(raw)) == "patient_id"


def test_http_duplicate_key_is_422(http: Http) -> None:
    """Over HTTP a repeated key in the body is 422 naming it."""
    http.participants()
    body = (
        b'{"at":"%s","prescriber_id":"DR9","prescriber_id":"DR8"}' % http.now.isoformat().encode()
    )
    response = http.client.post(
        "/v1/commands/certify_prescriber",
        content=body,
        headers={**http.auth(COMPLIANCE), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "prescriber_id"


def test_a_command_id_reused_for_another_command_is_invalid(enrolled: Program) -> None:
    """A key names one command: reusing it for another command name is `invalid` (and the same
    command again is still `duplicate`)."""
    first = enrolled.run("record_cbc", patient_id="PAT1", collected_at=enrolled.now,
                         command_id="k-1")  # fmt: skip
    assert first["ok"]
    other = enrolled.run("record_patient_survey", patient_id="PAT1", compliant=True,
                         command_id="k-1")  # fmt: skip
    assert invalid_field(other) == "command_id"
    again = enrolled.run("record_cbc", patient_id="PAT1", collected_at=enrolled.now,
                         command_id="k-1")  # fmt: skip
    assert again["error"]["code"] == "duplicate"


@pytest.mark.parametrize(
    ("command", "fields", "field"),
    [
        ("request_authorization", {"daily_dose_mg": 1e-300}, "daily_dose_mg"),
        ("request_authorization", {"daily_dose_mg": 1e300}, "daily_dose_mg"),
        ("request_authorization", {"days_supply": 10**12}, "days_supply"),
        ("record_pregnancy_test", {"sensitivity_miu_per_ml": 1e-300}, "sensitivity_miu_per_ml"),
        ("record_dispense", {"capsules": 10**9}, "capsules"),
    ],
)
def test_an_implausible_value_is_invalid_naming_the_bound(
    enrolled: Program, command: str, fields: dict[str, Any], field: str
) -> None:
    """Tiny and huge numbers are `invalid`; the message names the bound."""
    base: dict[str, dict[str, Any]] = {
        "request_authorization": {"patient_id": "PAT1", "prescriber_id": "DR1",
                                  "daily_dose_mg": 10, "days_supply": 28, "refills": 0,
                                  "channel": "electronic"},
        "record_pregnancy_test": {"patient_id": "PAT1", "collected_at": enrolled.now.isoformat(),
                                  "result": "negative", "sensitivity_miu_per_ml": 25},
        "record_dispense": {"pharmacy_id": "PH1", "confirmation_number": "RC-0000-0000-0000",
                            "medication_guide_provided": True, "counseled": True,
                            "capsules": 28},
    }  # fmt: skip
    result = enrolled.run(command, **{**base[command], **fields})
    assert invalid_field(result) == field
    assert (
        "greater than" in result["error"]["message"] or "less than" in (result["error"]["message"])
    )


@pytest.fixture
def http(sqlite_url: str) -> Iterator[Http]:
    """An API app over a fresh SQLite ledger (event clock)."""
    api = Http(make_ledger(sqlite_url))
    yield api
    api.close()
