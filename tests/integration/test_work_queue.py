"""The compliance work queue (`Views.due`, `rems due`) and the monthly report (`rems report`),
from the read model, on SQLite and the real PostgreSQL (issue 4, point 2; RULES.md T4, T5, S3,
M1, M2, A2, X1).

Each test builds a small program through `Ledger.execute` and asks the queue on chosen days: an
item appears on its due day (0 days overdue), not the day before, and its lateness grows after.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from application.ledger import Ledger
from application.views import Views
from tests.program import Program, local


@pytest.fixture
def p(any_ledger: Ledger) -> Program:
    """A program with DR1 and PH1 certified, clock at 2026-03-01 09:00 New York."""
    return Program(any_ledger).participants()


@pytest.fixture
def views(any_ledger: Ledger) -> Iterator[Views]:
    """The ledger's read models (caught up before every answer)."""
    v = Views(any_ledger)
    yield v
    v.close()


def items(views: Views, on: datetime | str, patient_id: str) -> list[dict[str, Any]]:
    """The patient's work-queue items on a day (noon, New York), [] when nothing is due."""
    when = local(f"{on} 12:00") if isinstance(on, str) else on
    for entry in views.due(when)["patients"]:
        if entry["patient_id"] == patient_id:
            return list(entry["items"])
    return []


def rules_due(views: Views, on: str, patient_id: str) -> list[str]:
    """The rule IDs of the patient's items on a day."""
    return [i["rule"] for i in items(views, on, patient_id)]


def item(views: Views, on: str, patient_id: str, rule: str) -> dict[str, Any] | None:
    """The patient's item for one rule on a day, if any."""
    found = [i for i in items(views, on, patient_id) if i["rule"] == rule]
    assert len(found) <= 1, found
    return found[0] if found else None


def frps_on_therapy(p: Program, patients: dict[str, dict[str, Any]]) -> None:
    """FRPs enrolled together (with per-patient form overrides), counseled, on contraception,
    tested now and 12 days later, surveyed and dispensed then; clock +12 days."""
    for patient_id, enroll in patients.items():
        assert p.enroll(patient_id, **enroll)["ok"]
        p.counsel(patient_id)
        p.contraception(patient_id)
        assert p.test(patient_id)["ok"]
    p.advance(days=12)
    for patient_id in patients:
        assert p.test(patient_id, collected_at=p.now - timedelta(hours=2))["ok"]
        p.survey(patient_id)
        p.fill(patient_id)


def male_on_therapy(p: Program, patient_id: str, **enroll: Any) -> None:
    """An adult male enrolled, counseled, surveyed and dispensed now."""
    p.ready_male(patient_id, **enroll)
    p.survey(patient_id)
    p.fill(patient_id)


# --------------------------------------------------------------------------- T4 / T5


def test_T4_weekly_pregnancy_test_in_the_first_four_weeks(p: Program, views: Views) -> None:
    """In the first 4 weeks of therapy an FRP's pregnancy test is due 7 days after the last one
    (T4), with days overdue counted after that."""
    frps_on_therapy(p, {"F1": {}})  # tests and first dispense on 2026-03-13
    assert items(views, "2026-03-19", "F1") == []
    assert items(views, "2026-03-20", "F1") == [
        {"rule": "T4", "what": "pregnancy test", "due_on": "2026-03-20", "days_overdue": 0}
    ]
    assert item(views, "2026-03-23", "F1", "T4") == {
        "rule": "T4",
        "what": "pregnancy test",
        "due_on": "2026-03-20",
        "days_overdue": 3,
    }
    p.at("2026-03-20 10:00")
    assert p.test("F1")["ok"]
    assert item(views, "2026-03-26", "F1", "T4") is None
    assert item(views, "2026-03-27", "F1", "T4") == {
        "rule": "T4",
        "what": "pregnancy test",
        "due_on": "2026-03-27",
        "days_overdue": 0,
    }


def test_T5_after_four_weeks_every_four_weeks_regular_every_two_irregular(
    p: Program, views: Views
) -> None:
    """After the first 4 weeks, the test is due every 4 weeks with regular menses and every 2
    weeks with irregular menses (T5)."""
    frps_on_therapy(p, {"FREG": {}, "FIRR": {"menstruation": "irregular"}})  # 2026-03-13
    p.at("2026-04-10 09:00")  # therapy day 28: out of the weekly period
    for patient_id in ("FREG", "FIRR"):
        assert p.test(patient_id)["ok"]
        p.survey(patient_id)
    assert rules_due(views, "2026-04-23", "FIRR") == []
    assert items(views, "2026-04-24", "FIRR") == [
        {"rule": "T5", "what": "pregnancy test", "due_on": "2026-04-24", "days_overdue": 0}
    ]
    assert rules_due(views, "2026-04-24", "FREG") == []
    assert rules_due(views, "2026-05-07", "FREG") == []
    assert items(views, "2026-05-08", "FREG") == [
        {"rule": "T5", "what": "pregnancy test", "due_on": "2026-05-08", "days_overdue": 0}
    ]
    assert item(views, "2026-05-08", "FIRR", "T5") == {
        "rule": "T5",
        "what": "pregnancy test",
        "due_on": "2026-04-24",
        "days_overdue": 14,
    }


# --------------------------------------------------------------------------- S3


def test_S3_survey_due_monthly_for_adult_males_and_every_six_months_for_adult_fnrp(
    p: Program, views: Views
) -> None:
    """The patient survey falls due 30 days after the last one for an adult male (monthly) and
    6 calendar months after it for an adult female not of reproductive potential (S3)."""
    assert p.enroll(
        "FNRP", date_of_birth="1958-02-01", menstruation="menopause", natural_menopause_months=40
    )["ok"]
    p.counsel("FNRP")
    p.survey("FNRP")
    p.fill("FNRP")
    male_on_therapy(p, "MALE")  # surveys and first dispenses on 2026-03-01
    assert rules_due(views, "2026-03-30", "MALE") == []
    assert items(views, "2026-03-31", "MALE") == [
        {"rule": "S3", "what": "patient survey", "due_on": "2026-03-31", "days_overdue": 0}
    ]
    assert rules_due(views, "2026-03-31", "FNRP") == []
    assert rules_due(views, "2026-08-31", "FNRP") == []
    assert items(views, "2026-09-01", "FNRP") == [
        {"rule": "S3", "what": "patient survey", "due_on": "2026-09-01", "days_overdue": 0}
    ]
    assert item(views, "2026-09-01", "MALE", "S3") == {
        "rule": "S3",
        "what": "patient survey",
        "due_on": "2026-03-31",
        "days_overdue": 154,
    }


# --------------------------------------------------------------------------- M1


def test_M1_cbc_weekly_for_eight_weeks_then_monthly_for_del_5q_mds_only(
    p: Program, views: Views
) -> None:
    """A del 5q MDS patient (ICD-10 D46.C) has a CBC due a week after therapy start and each
    CBC in the first 8 weeks, then a month after the last; other diagnoses have none (M1)."""
    male_on_therapy(p, "MDS", diagnosis_icd10="D46.C")  # therapy start 2026-03-01
    male_on_therapy(p, "MM", diagnosis_icd10="C90.00")
    assert item(views, "2026-03-07", "MDS", "M1") is None
    assert item(views, "2026-03-08", "MDS", "M1") == {
        "rule": "M1",
        "what": "complete blood count",
        "due_on": "2026-03-08",
        "days_overdue": 0,
    }
    p.at("2026-03-09 09:00").ok("record_cbc", patient_id="MDS", collected_at=p.now.isoformat())
    assert item(views, "2026-03-15", "MDS", "M1") is None
    assert item(views, "2026-03-16", "MDS", "M1") == {
        "rule": "M1",
        "what": "complete blood count",
        "due_on": "2026-03-16",
        "days_overdue": 0,
    }
    assert item(views, "2026-03-20", "MDS", "M1") == {
        "rule": "M1",
        "what": "complete blood count",
        "due_on": "2026-03-16",
        "days_overdue": 4,
    }
    # Week 8 is over on 2026-04-26: a CBC then puts the next one a month later.
    p.at("2026-04-26 09:00").ok("record_cbc", patient_id="MDS", collected_at=p.now.isoformat())
    assert item(views, "2026-05-25", "MDS", "M1") is None
    assert item(views, "2026-05-26", "MDS", "M1") == {
        "rule": "M1",
        "what": "complete blood count",
        "due_on": "2026-05-26",
        "days_overdue": 0,
    }
    for day in ("2026-03-08", "2026-03-20", "2026-05-26", "2026-07-01"):
        assert "M1" not in rules_due(views, day, "MM"), day


# --------------------------------------------------------------------------- M2


def test_M2_missing_medwatch_or_rems_report_after_a_suspected_pregnancy(
    p: Program, views: Views
) -> None:
    """A suspected pregnancy reported with a missing MedWatch (or REMS) report is due from the
    day it was suspected and names the missing report; with both reports nothing is due (M2)."""
    for patient_id in ("NOMW", "NOREMS", "BOTH"):
        assert p.enroll(patient_id)["ok"]
    p.at("2026-03-05 09:00")
    for patient_id, medwatch, rems in (
        ("NOMW", False, True),
        ("NOREMS", True, False),
        ("BOTH", True, True),
    ):
        p.ok(
            "report_pregnancy",
            patient_id=patient_id,
            suspected_on="2026-03-04",
            reported_to_medwatch=medwatch,
            reported_to_rems=rems,
        )
    no_medwatch = items(views, "2026-03-06", "NOMW")
    assert [(i["rule"], i["due_on"], i["days_overdue"]) for i in no_medwatch] == [
        ("M2", "2026-03-04", 2)
    ]
    assert "MedWatch" in no_medwatch[0]["what"]
    assert "REMS" not in no_medwatch[0]["what"]
    no_rems = items(views, "2026-03-06", "NOREMS")
    assert [i["rule"] for i in no_rems] == ["M2"]
    assert "REMS" in no_rems[0]["what"]
    assert "MedWatch" not in no_rems[0]["what"]
    assert items(views, "2026-03-06", "BOTH") == []


# --------------------------------------------------------------------------- A2


def test_A2_authorization_about_to_expire_before_a_dispense(p: Program, views: Views) -> None:
    """An authorization not yet dispensed is on the queue from 2 days before it expires (due
    today) and, once expired, overdue since its expiry day (A2)."""
    male_on_therapy(p, "M1")  # first dispense 2026-03-01
    p.at("2026-03-29 09:00")
    p.survey("M1")
    auth = p.authorize("M1")
    assert auth["ok"], auth
    assert auth["expires_at"] == "2026-04-28T23:59:59-04:00"  # 30 days from issue
    assert item(views, "2026-04-25", "M1", "A2") is None
    soon = item(views, "2026-04-26", "M1", "A2")
    assert soon is not None
    assert (soon["due_on"], soon["days_overdue"]) == ("2026-04-26", 0)
    assert auth["authorization_number"] in soon["what"]
    assert "2026-04-28" in soon["what"]
    late = item(views, "2026-04-30", "M1", "A2")
    assert late is not None
    assert (late["due_on"], late["days_overdue"]) == ("2026-04-28", 2)
    # Confirmed and dispensed: off the queue.
    p.at("2026-03-29 10:00")
    confirmation = p.confirm(auth["authorization_number"], "M1")
    assert p.dispense(confirmation["confirmation_number"])["ok"]
    assert item(views, "2026-04-26", "M1", "A2") is None


def test_A2_initial_authorization_about_to_expire_before_the_first_dispense(
    p: Program, views: Views
) -> None:
    """An initial authorization (no dispense yet) expiring within 2 days is on the queue (A2)."""
    p.ready_frp("F1")  # tests on 2026-03-01 and 2026-03-13
    auth = p.authorize("F1")
    assert auth["ok"], auth
    assert auth["expires_at"] == "2026-03-20T23:59:59-04:00"
    soon = item(views, "2026-03-19", "F1", "A2")
    assert soon is not None
    assert (soon["due_on"], soon["days_overdue"]) == ("2026-03-19", 0)


# --------------------------------------------------------------------------- X1


def test_X1_unreturned_capsules_after_discontinuation_until_returned(
    p: Program, views: Views
) -> None:
    """After `discontinue_therapy` the return of unused capsules is due from the last dose and
    replaces the on-therapy items; `record_capsule_return` clears it (X1)."""
    male_on_therapy(p, "M1")
    p.at("2026-03-21 09:00").ok(
        "discontinue_therapy", patient_id="M1", last_dose_on="2026-03-20", reason="toxicity"
    )
    assert items(views, "2026-03-25", "M1") == [
        {
            "rule": "X1",
            "what": "return unused capsules after the last dose",
            "due_on": "2026-03-20",
            "days_overdue": 5,
        }
    ]
    # No survey is due for a discontinued patient (S3 would be due 2026-03-31 on therapy).
    assert rules_due(views, "2026-04-05", "M1") == ["X1"]
    p.at("2026-03-26 09:00").ok(
        "record_capsule_return", patient_id="M1", capsules=6, returned_to="pharmacy"
    )
    assert items(views, "2026-03-27", "M1") == []


# --------------------------------------------------------------------------- the whole queue


def test_queue_lists_most_overdue_first_with_counts_by_rule(p: Program, views: Views) -> None:
    """`due` orders patients by their most overdue item (ties by patient ID), gives each
    patient's `most_overdue_days`, and counts the items by rule."""
    male_on_therapy(p, "A-MALE")  # S3 due 2026-03-31
    male_on_therapy(p, "B-MALE")  # S3 due 2026-03-31
    assert p.enroll("C-FRP")["ok"]
    p.at("2026-03-21 09:00").ok(
        "discontinue_therapy", patient_id="B-MALE", last_dose_on="2026-03-10", reason="ended"
    )
    p.ok(
        "report_pregnancy",
        patient_id="C-FRP",
        suspected_on="2026-03-21",
        reported_to_medwatch=False,
        reported_to_rems=False,
    )
    due = views.due(local("2026-04-02 12:00"))
    assert due["on"] == "2026-04-02"
    assert [(e["patient_id"], e["most_overdue_days"]) for e in due["patients"]] == [
        ("B-MALE", 23),  # X1 since 2026-03-10
        ("C-FRP", 12),  # M2 since 2026-03-21
        ("A-MALE", 2),  # S3 since 2026-03-31
    ]
    assert [[i["rule"] for i in e["items"]] for e in due["patients"]] == [["X1"], ["M2"], ["S3"]]
    assert due["counts_by_rule"] == {"X1": 1, "M2": 1, "S3": 1}
    assert due["patients"][0]["prescriber_id"] == "DR1"
    assert views.due(local("2026-03-02 12:00")) == {
        "on": "2026-03-02",
        "patients": [],
        "counts_by_rule": {},
    }


# --------------------------------------------------------------------------- the report


def test_report_counts_issued_and_denied_by_month_category_and_rule(
    p: Program, views: Views
) -> None:
    """`report` counts authorizations issued and denied per month (program time zone), by risk
    category, and denials under each unmet rule."""
    p.at("2026-03-13 09:00")
    p.ready_frp("F1")  # clock 2026-03-25 09:00
    assert p.authorize("F1")["ok"]  # March: issued, FRP
    p.ready_male("M1")
    phoned = p.authorize("M1", channel="telephone")
    assert [r["rule"] for r in phoned["error"]["reasons"]] == ["A3"]  # March: denied, male
    assert p.enroll("M2", sex="male")["ok"]
    refused = p.authorize("M2", days_supply=35)
    assert sorted(r["rule"] for r in refused["error"]["reasons"]) == ["A3", "K1"]  # March
    # 23:30 New York on March 31 is April 1 in UTC: it counts in March.
    p.at("2026-03-31 23:30")
    assert p.authorize("M1")["ok"]  # March: issued, adult male
    p.at("2026-04-02 09:00")
    assert p.authorize("M2")["error"]["reasons"][0]["rule"] == "K1"  # April: denied
    assert p.authorize("M1")["ok"]  # April: issued (voids the March one)
    assert views.report() == {
        "months": [
            {
                "month": "2026-03",
                "issued": 2,
                "denied": 2,
                "issued_by_category": {
                    "adult_female_reproductive_potential": 1,
                    "adult_male": 1,
                },
                "denied_by_category": {"adult_male": 2},
                "denied_by_rule": {"A3": 2, "K1": 1},
            },
            {
                "month": "2026-04",
                "issued": 1,
                "denied": 1,
                "issued_by_category": {"adult_male": 1},
                "denied_by_category": {"adult_male": 1},
                "denied_by_rule": {"K1": 1},
            },
        ]
    }
