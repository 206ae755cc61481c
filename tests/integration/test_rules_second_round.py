"""The second round of readings (RULES.md, end): T7 opened by a test, late M2 reports, S2 is
current, reproductive potential by age (R3), pharmacy reads, and replay's answer keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from application.queries import eligibility
from application.replay import replay_decision
from application.views import Views
from tests.api_client import COMPLIANCE, DR1, PH1, PH2, Http
from tests.conftest import make_ledger
from tests.program import Program, rules

GIRL: dict[str, Any] = {
    "date_of_birth": "2008-03-10",  # 18 on 2026-03-10
    "menstruation": "not_started",
    "patient_signed": False,
    "guardian": {"name": "Gia Guardian", "signed": True, "signed_on": "2026-02-28"},
}


def m2_items(program: Program, patient_id: str = "PAT1") -> list[dict[str, Any]]:
    """The patient's M2 items in the work queue now."""
    with Views(program.ledger) as views:
        queue = views.due(program.now)
    return [
        item
        for entry in queue["patients"]
        if entry["patient_id"] == patient_id
        for item in entry["items"]
        if item["rule"] == "M2"
    ]


def report(program: Program, suspected_on: str, medwatch: bool, rems: bool) -> dict[str, Any]:
    """A `report_pregnancy` for PAT1."""
    return program.ok(
        "report_pregnancy",
        patient_id="PAT1",
        suspected_on=suspected_on,
        reported_to_medwatch=medwatch,
        reported_to_rems=rems,
    )


def resolve(program: Program) -> dict[str, Any]:
    """Compliance resolves PAT1's open case."""
    return program.run(
        "resolve_pregnancy_report",
        patient_id="PAT1",
        resolution="not_pregnant",
        evidence="serum hCG negative twice",
        resolved_on=program.today,
    )


# ------------------------------------------------------------------ T7 opened by a test
def test_T7_a_positive_test_opens_a_case_whose_M2_reports_are_then_due(program: Program) -> None:
    """A positive test opens a case suspected on its collection date with both M2 reports
    missing: they are due in the work queue, T7 blocks, and resolving it does not file them."""
    program.ready_frp()
    collected = program.now - timedelta(hours=1)
    result = program.test(collected_at=collected, result="positive")
    assert result["missing_reports"] == ["medwatch", "rems"]
    assert "T7" in rules(program.authorize())
    items = m2_items(program)
    assert len(items) == 1
    assert items[0]["due_on"] == collected.date().isoformat()
    program.advance(hours=1)
    assert resolve(program)["ok"]
    assert len(m2_items(program)) == 1, "resolving a case does not file its reports"


def test_M2_a_report_naming_the_tests_date_files_its_reports_on_that_case(
    program: Program,
) -> None:
    """`report_pregnancy` for the test's collection date completes that case (no new case)."""
    program.ready_frp()
    program.test(collected_at=program.now, result="positive")
    answer = report(program, program.today.isoformat(), medwatch=True, rems=True)
    assert answer["case"] == "updated"
    assert answer["missing_reports"] == []
    patient = program.ledger.patient_state("PAT1")
    assert patient is not None
    assert len(patient.pregnancy_reports) == 1
    assert m2_items(program) == []


def test_M2_a_later_report_completes_the_open_case(program: Program) -> None:
    """While a case is open a report (even of another date) adds the reports it files to it;
    a filed report stays filed."""
    assert program.enroll()["ok"]
    first = report(program, "2026-02-27", medwatch=True, rems=False)
    assert first["case"] == "opened"
    assert first["missing_reports"] == ["rems"]
    program.advance(days=1)
    later = report(program, "2026-02-28", medwatch=False, rems=True)
    assert later["case"] == "updated"
    assert later["missing_reports"] == []
    patient = program.ledger.patient_state("PAT1")
    assert patient is not None
    assert len(patient.pregnancy_reports) == 1


def test_M2_a_report_naming_a_resolved_case_fills_it_without_reopening_T7(
    program: Program,
) -> None:
    """After the case is resolved, a report naming its `suspected_on` files the missing reports
    on it and does not block again; a report of another date opens a new case."""
    assert program.enroll()["ok"]
    report(program, "2026-02-27", medwatch=False, rems=False)
    program.advance(hours=1)
    assert resolve(program)["ok"]
    filled = report(program, "2026-02-27", medwatch=True, rems=True)
    assert filled["case"] == "updated"
    assert filled["blocks"] is False
    assert m2_items(program) == []
    new = report(program, "2026-03-01", medwatch=True, rems=True)
    assert new["case"] == "opened"
    assert new["blocks"] is True


def test_T7_a_positive_test_after_a_resolved_case_blocks_again(program: Program) -> None:
    """A positive test with no open case opens a new one, even on a resolved case's date."""
    program.ready_frp()
    program.test(collected_at=program.now, result="positive")
    program.advance(minutes=5)
    assert resolve(program)["ok"]
    program.advance(minutes=5)
    program.test(collected_at=program.now, result="positive")
    assert "T7" in rules(program.authorize())
    program.advance(minutes=5)
    assert resolve(program)["ok"], "the new case is open, so resolving it is not not_found"


def test_T7_resolving_with_no_open_case_is_not_found(program: Program) -> None:
    """With no open case `resolve_pregnancy_report` is `not_found`."""
    program.ready_frp()
    assert resolve(program)["error"]["code"] == "not_found"


# ------------------------------------------------------------------ S2 is current
def test_S2_an_initial_survey_older_than_30_days_is_not_current_for_an_frp(
    program: Program,
) -> None:
    """An FRP's initial survey completed 33 days before her first prescription is listed as
    S2; a new one clears it."""
    assert program.enroll()["ok"]
    program.counsel()
    program.contraception()
    program.survey()
    program.advance(days=21)
    assert program.test()["ok"]
    program.advance(days=12)
    assert program.test(collected_at=program.now - timedelta(hours=1))["ok"]
    assert rules(program.authorize()) == ["S2"]
    program.survey()
    assert program.authorize()["ok"]


def test_S2_a_survey_before_she_became_frp_is_not_current(program: Program) -> None:
    """A survey completed while she was FNRP does not count once an R3 change made her FRP."""
    assert program.enroll(menstruation="menopause", natural_menopause_months=30)["ok"]
    program.counsel()
    program.contraception()
    program.survey()
    program.advance(days=1)
    changed = program.ok("update_reproductive_status", patient_id="PAT1", menstruation="regular")
    assert changed["risk_category"] == "adult_female_reproductive_potential"
    assert program.test()["ok"]
    program.advance(days=12)
    assert program.test(collected_at=program.now - timedelta(hours=1))["ok"]
    assert rules(program.authorize()) == ["S2"]
    program.survey()
    assert program.authorize()["ok"]


def test_S2_an_fnrp_adults_survey_counts_for_6_months(program: Program) -> None:
    """For an adult FNRP the initial survey stays current within 6 calendar months."""
    assert program.enroll(hysterectomy=True)["ok"]
    program.counsel()
    program.survey()
    program.advance(days=150)
    assert program.authorize()["ok"]


# ------------------------------------------------------------------ R3 by age
@pytest.fixture
def girl(program: Program) -> Program:
    """A girl recorded as not yet menstruating, 18 on 2026-03-10, counseled and surveyed, with
    an authorization issued on 2026-03-05 (as FNRP child)."""
    assert program.enroll(**GIRL)["ok"]
    program.counsel()
    program.survey()
    program.at("2026-03-05 10:00")
    auth = program.authorize()
    assert auth["risk_category"] == "female_child_not_reproductive_potential", auth
    program.numbers = {"auth": auth["authorization_number"]}  # type: ignore[attr-defined]
    return program


def test_R3_her_18th_birthday_stops_confirming_an_authorization_issued_before_it(
    girl: Program,
) -> None:
    """On her 18th birthday the FNRP-child authorization is denied at confirmation: D1, R3."""
    girl.at("2026-03-10 09:00")
    result = girl.confirm(girl.numbers["auth"])  # type: ignore[attr-defined]
    assert rules(result) == ["D1", "R3"]


def test_R3_the_day_before_her_birthday_the_authorization_is_still_confirmed(
    girl: Program,
) -> None:
    """Both sides of the edge: on 2026-03-09 the confirmation is issued."""
    girl.at("2026-03-09 23:00")
    assert girl.confirm(girl.numbers["auth"])["ok"]  # type: ignore[attr-defined]


def test_R3_her_18th_birthday_stops_dispensing_a_confirmation_obtained_before_it(
    girl: Program,
) -> None:
    """A confirmation obtained the day before cannot be dispensed on her birthday (D1, R3)."""
    girl.at("2026-03-09 10:00")
    confirmation = girl.confirm(girl.numbers["auth"])["confirmation_number"]  # type: ignore[attr-defined]
    girl.at("2026-03-10 10:00")
    assert rules(girl.dispense(confirmation)) == ["D1", "R3"]


def test_R3_a_dispense_before_her_birthday_leaves_her_next_prescription_initial(
    girl: Program,
) -> None:
    """A dispense made while she was FNRP does not make her first FRP prescription subsequent."""
    girl.at("2026-03-09 10:00")
    confirmation = girl.confirm(girl.numbers["auth"])["confirmation_number"]  # type: ignore[attr-defined]
    assert girl.dispense(confirmation)["ok"]
    girl.at("2026-03-11 10:00")
    answer = eligibility(girl.ledger, "PAT1", girl.now)
    assert answer["risk_category"] == "adult_female_reproductive_potential"
    assert answer["initial"] is True
    assert {"T1", "T2"} <= {r["rule"] for r in answer["reasons"]}


def test_R3_a_male_childs_18th_birthday_is_no_change(program: Program) -> None:
    """A birthday that changes only child/adult (male child -> adult male) is no R3 change."""
    assert program.enroll(
        sex="male", date_of_birth="2008-03-10", patient_signed=False, guardian=GIRL["guardian"]
    )["ok"]
    program.counsel()
    program.at("2026-03-05 10:00")
    auth = program.authorize()["authorization_number"]
    program.at("2026-03-10 10:00")
    assert program.confirm(auth)["ok"]


# ------------------------------------------------------------------ pharmacy reads
@pytest.fixture
def http(sqlite_url: str) -> Iterator[Http]:
    """An API app over a fresh SQLite ledger, DR1/DR2 and PH1/PH2 certified; PAT2 authorized,
    then PAT1 ready for an authorization."""
    api = Http(make_ledger(sqlite_url))
    api.participants()
    api.ready_frp("PAT2")
    api.numbers = {"PAT2": api.authorize("PAT2")["authorization_number"]}  # type: ignore[attr-defined]
    api.ready_frp("PAT1")
    yield api
    api.close()


def test_pharmacy_reads_eligibility_only_with_the_patients_authorization_number(
    http: Http,
) -> None:
    """A pharmacy without the number is 403; with the patient's own number (any case) 200; with
    another patient's number 403."""
    first = http.authorize("PAT1")["authorization_number"]
    other = http.numbers["PAT2"]  # type: ignore[attr-defined]
    path = "/v1/patients/PAT1/eligibility"
    assert http.get(PH1, path).status_code == 403
    assert http.get(PH1, path, authorization_number=first.lower()).status_code == 200
    assert http.get(PH1, path, authorization_number=other).status_code == 403
    assert http.get(PH1, path, authorization_number="RA-0000-0000-0000").status_code == 403


def test_pharmacy_reads_eligibility_of_a_patient_it_holds_a_confirmation_for(http: Http) -> None:
    """After PH1 obtained a confirmation for PAT1 it reads PAT1 without the number; PH2 does
    not."""
    number = http.authorize("PAT1")["authorization_number"]
    http.ok(PH1, "request_dispense_confirmation", pharmacy_id="PH1", patient_id="PAT1",
            authorization_number=number, days_supply=28)  # fmt: skip
    path = "/v1/patients/PAT1/eligibility"
    assert http.get(PH1, path).status_code == 200
    assert http.get(PH2, path).status_code == 403
    assert http.get(COMPLIANCE, path).status_code == 200
    assert http.get(DR1, path).status_code == 200


# ------------------------------------------------------------------ replay keys
def test_replay_answers_under_authorization_number_or_confirmation_number(
    program: Program,
) -> None:
    """`rems replay-decision RA-...` answers `authorization_number`, `RC-...`
    `confirmation_number` (DESIGN.md), each in its issued form."""
    program.ready_male()
    numbers = program.fill()
    for key, value in numbers.items():
        answer = replay_decision(program.ledger, value.lower())
        assert answer[key] == value
        assert answer["same"] is True
