"""The ledger application end to end through `Ledger.execute`, on SQLite and the real PostgreSQL.

Every test drives the batch command contract (DESIGN.md) through `tests.program.Program` and
reads the answers back through the queries (`application.queries`) and a fresh `Ledger` on the same
database, so parsing, the clock, the rules, the store and the projections are exercised together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from application.errors import NotFound
from application.ledger import Ledger
from application.queries import eligibility, history, parse_as_of
from domain.ruleset import ruleset_in_force
from infra.settings import ClockMode, Settings
from tests.program import TZ, Program, local, rules


def reopen(url: str) -> Ledger:
    """A new ledger instance on an existing database (event clock, New York)."""
    return Ledger(Settings(database_url=url, clock=ClockMode.EVENT, timezone=TZ))


def types(ledger: Ledger, patient_id: str) -> list[str]:
    """The patient's event types in recorded order."""
    return [e["type"] for e in history(ledger, patient_id)["events"]]


def stored_count(ledger: Ledger) -> int:
    """How many events the whole store holds (every aggregate)."""
    return ledger.notifications.end()


def without_line(result: dict[str, Any]) -> dict[str, Any]:
    """A result as `execute` gives it (no batch `line`)."""
    return {k: v for k, v in result.items() if k != "line"}


# ------------------------------------------------------------------------ journeys


def test_frp_journey_from_enrollment_to_second_month_dispense(any_ledger: Ledger) -> None:
    """An FRP is enrolled, counseled, on contraception, tested twice, surveyed, authorized,
    confirmed and dispensed, and a month later gets a subsequent prescription after a new test
    and survey."""
    p = Program(any_ledger).participants()
    enrolled = p.enroll("FRP1")
    assert enrolled == {
        "ok": True,
        "patient_id": "FRP1",
        "risk_category": "adult_female_reproductive_potential",
        "enrollment": 1,
        "enrolled_at": "2026-03-01T09:00:00-05:00",
    }
    assert p.counsel("FRP1")["counseling_complete"] is True
    p.contraception("FRP1")
    assert p.test("FRP1")["counts"] is True
    p.advance(days=12)  # 2026-03-13 09:00 (after the DST change)
    assert p.test("FRP1", collected_at=p.now - timedelta(hours=2))["ok"]
    p.survey("FRP1")

    auth = p.authorize("FRP1")
    assert auth["ok"], auth
    assert auth["risk_category"] == "adult_female_reproductive_potential"
    assert auth["initial"] is True
    # A2: 7 days from the date of the last test (2026-03-13), end of day, New York summer time.
    assert auth["expires_at"] == "2026-03-20T23:59:59-04:00"
    confirmation = p.confirm(auth["authorization_number"], "FRP1")
    assert confirmation["ok"], confirmation
    assert confirmation["authorization_number"] == auth["authorization_number"]
    dispense = p.dispense(confirmation["confirmation_number"])
    assert dispense["ok"], dispense
    assert dispense["tracked"] == []

    p.at("2026-04-09 09:00")
    assert p.test("FRP1")["ok"]
    p.survey("FRP1")
    second = p.authorize("FRP1")
    assert second["ok"], second
    assert second["initial"] is False
    assert second["expires_at"] == "2026-04-16T23:59:59-04:00"
    second_fill = p.confirm(second["authorization_number"], "FRP1")
    assert p.dispense(second_fill["confirmation_number"])["ok"]

    assert types(any_ledger, "FRP1") == [
        "PatientEnrolled",
        "CounselingRecorded",
        "ContraceptionRecorded",
        "PregnancyTestRecorded",
        "PregnancyTestRecorded",
        "PatientSurveyCompleted",
        "AuthorizationIssued",
        "DispenseConfirmed",
        "DispenseRecorded",
        "PregnancyTestRecorded",
        "PatientSurveyCompleted",
        "AuthorizationIssued",
        "DispenseConfirmed",
        "DispenseRecorded",
    ]
    state = any_ledger.patient_state("FRP1")
    assert state is not None
    assert len(state.dispenses) == 2
    assert [a.status.value for a in state.authorizations] == ["confirmed", "confirmed"]


def test_male_journey_needs_a_monthly_survey_for_the_second_prescription(
    any_ledger: Ledger,
) -> None:
    """An adult male is enrolled, counseled, authorized for 30 days, dispensed, and his next
    prescription is denied S3 until he completes a survey."""
    p = Program(any_ledger).participants()
    enrolled = p.enroll("M1", sex="male")
    assert enrolled["risk_category"] == "adult_male"
    p.counsel("M1")

    auth = p.authorize("M1")
    assert auth["ok"], auth
    assert auth["risk_category"] == "adult_male"
    assert auth["initial"] is True
    assert auth["expires_at"] == "2026-03-31T23:59:59-04:00"  # A2: 30 days from issue
    confirmation = p.confirm(auth["authorization_number"], "M1")
    assert p.dispense(confirmation["confirmation_number"])["ok"]

    p.advance(days=28)
    denied = p.authorize("M1")
    assert denied["error"]["code"] == "denied"
    assert rules(denied) == ["S3"]
    p.survey("M1")
    again = p.authorize("M1")
    assert again["ok"], again
    assert again["initial"] is False
    assert "PregnancyTestRecorded" not in types(any_ledger, "M1")


def test_denial_is_recorded_in_history_with_reasons_and_ruleset_version(
    any_ledger: Ledger,
) -> None:
    """A denied authorization is an AuthorizationDenied event carrying every unmet rule, the
    rule-set version in force and the inputs it read."""
    p = Program(any_ledger).participants()
    p.enroll("F1")
    denied = p.authorize("F1")
    assert denied["ok"] is False
    assert denied["error"]["code"] == "denied"
    assert {"K1", "S2", "T1", "T2", "T6", "C1", "C2"} <= set(rules(denied))

    last = history(any_ledger, "F1")["events"][-1]
    assert last["type"] == "AuthorizationDenied"
    assert last["reasons"] == denied["error"]["reasons"]
    assert last["ruleset_version"] == ruleset_in_force(p.today).version
    assert last["risk_category"] == "adult_female_reproductive_potential"
    assert last["prescriber_id"] == "DR1"
    assert isinstance(last["inputs"], dict)
    assert last["recorded_at"] == p.now.isoformat()


# ------------------------------------------------------------------------ idempotency


def test_repeated_command_id_returns_duplicate_with_original_and_records_nothing(
    any_ledger: Ledger,
) -> None:
    """A second command with the same command_id answers `duplicate` with the first result and
    appends nothing, even when its body and `at` differ."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    first = p.run("record_patient_survey", patient_id="M1", compliant=True, command_id="cmd-1")
    assert first["ok"], first
    before_history = len(history(any_ledger, "M1")["events"])
    before_total = stored_count(any_ledger)

    p.advance(hours=1)
    repeat = p.run("record_patient_survey", patient_id="M1", compliant=False, command_id="cmd-1")
    assert repeat["ok"] is False
    assert repeat["error"]["code"] == "duplicate"
    assert repeat["error"]["reasons"] == []
    assert repeat["original"] == first
    # "checked before anything else": even an `at` in the past of the event clock.
    stale = any_ledger.execute(
        {
            "command": "record_patient_survey",
            "at": "2026-01-01T00:00:00-05:00",
            "patient_id": "M1",
            "compliant": True,
            "command_id": "cmd-1",
        }
    )
    assert stale["error"]["code"] == "duplicate"
    assert stale["original"] == first

    assert len(history(any_ledger, "M1")["events"]) == before_history
    assert stored_count(any_ledger) == before_total


def test_repeated_command_id_of_a_denial_returns_the_original_denial(any_ledger: Ledger) -> None:
    """When the first outcome was a denial, the repeat is `duplicate` carrying that denial, and
    no second AuthorizationDenied is recorded even though the patient has become eligible."""
    p = Program(any_ledger).participants()
    assert p.enroll("M1", sex="male")["ok"]
    first = p.authorize("M1", command_id="auth-1")
    assert first["error"]["code"] == "denied"
    assert rules(first) == ["K1"]
    denials = types(any_ledger, "M1").count("AuthorizationDenied")
    assert denials == 1

    p.counsel("M1")
    before = stored_count(any_ledger)
    repeat = p.authorize("M1", command_id="auth-1")
    assert repeat["error"]["code"] == "duplicate"
    assert repeat["original"] == first
    assert stored_count(any_ledger) == before
    assert types(any_ledger, "M1").count("AuthorizationDenied") == 1
    assert "AuthorizationIssued" not in types(any_ledger, "M1")


def test_registering_an_existing_prescriber_is_duplicate(any_ledger: Ledger) -> None:
    """Registering a prescriber ID twice is `duplicate` with the first registration's result."""
    p = Program(any_ledger)
    body = {"prescriber_id": "DR9", "name": "Dr Nine", "address": "9 Oak St", "fax": "555-0109"}
    first = p.run("register_prescriber", **body)
    assert first == {"ok": True, "prescriber_id": "DR9"}
    before = stored_count(any_ledger)
    again = p.run("register_prescriber", **{**body, "name": "Dr Nine Again"})
    assert again["error"]["code"] == "duplicate"
    assert again["original"] == first
    assert stored_count(any_ledger) == before


def test_certifying_a_certified_prescriber_is_ok_and_records_nothing(any_ledger: Ledger) -> None:
    """Certifying an already certified prescriber or pharmacy answers ok and appends nothing."""
    p = Program(any_ledger).participants()
    before = stored_count(any_ledger)
    again = p.run("certify_prescriber", prescriber_id="DR1")
    assert again["ok"] is True
    assert again["certified"] is True
    pharmacy = p.run("certify_pharmacy", pharmacy_id="PH1", name="Pharmacy", address="2 Main St")
    assert pharmacy["ok"] is True
    assert stored_count(any_ledger) == before


def test_recertifying_after_suspension_restores_the_prescriber(any_ledger: Ledger) -> None:
    """A suspended prescriber is denied P1 and P3; certifying again records a certification and
    authorizations are issued again."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    assert p.run("suspend_prescriber", prescriber_id="DR1", reason="audit finding")["ok"]
    denied = p.authorize("M1")
    assert denied["error"]["code"] == "denied"
    assert {"P1", "P3"} <= set(rules(denied))

    before = stored_count(any_ledger)
    recertified = p.run("certify_prescriber", prescriber_id="DR1")
    assert recertified["ok"] is True
    assert stored_count(any_ledger) == before + 1
    prescriber = any_ledger.participant_state("prescriber", "DR1")
    assert prescriber is not None
    assert prescriber.certified is True
    assert prescriber.suspended_reason is None
    assert p.authorize("M1")["ok"]


def test_enrolling_an_enrolled_patient_is_duplicate(any_ledger: Ledger) -> None:
    """Enrolling a patient whose enrollment has not lapsed is `duplicate` with the first
    enrollment's result, and records nothing."""
    p = Program(any_ledger).participants()
    first = p.enroll("F1")
    assert first["ok"], first
    p.advance(days=3)
    before = stored_count(any_ledger)
    again = p.enroll("F1", name="Someone Else")
    assert again["error"]["code"] == "duplicate"
    assert again["original"] == first
    assert stored_count(any_ledger) == before
    assert types(any_ledger, "F1") == ["PatientEnrolled"]


def test_second_dispense_of_one_confirmation_is_duplicate(any_ledger: Ledger) -> None:
    """A second record_dispense of the same confirmation is `duplicate` with the first result."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    auth = p.authorize("M1")
    confirmation = p.confirm(auth["authorization_number"], "M1")
    first = p.dispense(confirmation["confirmation_number"])
    assert first["ok"], first
    before = stored_count(any_ledger)
    again = p.dispense(confirmation["confirmation_number"], capsules=14)
    assert again["error"]["code"] == "duplicate"
    assert again["original"] == first
    assert stored_count(any_ledger) == before


# ------------------------------------------------------------------------ queries in time


def test_eligibility_as_of_follows_recorded_facts(any_ledger: Ledger) -> None:
    """Eligibility at T sees only what was recorded by T: a male is not eligible (K1) before his
    counseling is recorded and eligible from that instant on."""
    p = Program(any_ledger).participants()
    assert p.enroll("M1", sex="male")["ok"]
    enrolled_at = p.now
    p.advance(hours=1)
    p.counsel("M1")
    counseled_at = p.now

    before = eligibility(any_ledger, "M1", as_of=counseled_at - timedelta(minutes=30))
    assert before["eligible"] is False
    assert [r["rule"] for r in before["reasons"]] == ["K1"]
    assert before["risk_category"] == "adult_male"

    after = eligibility(any_ledger, "M1", as_of=counseled_at)
    assert after["eligible"] is True
    assert after["reasons"] == []
    assert set(after) >= {"patient_id", "eligible", "risk_category", "reasons", "next_due"}

    with pytest.raises(NotFound):
        eligibility(any_ledger, "M1", as_of=enrolled_at - timedelta(seconds=1))


def test_eligibility_as_of_ignores_a_late_entered_test_until_it_is_recorded(
    any_ledger: Ledger,
) -> None:
    """A test collected at 07:00 but recorded at 12:00 counts for eligibility as of 12:00, not as
    of 10:00: "as the ledger knew it" is judged on recorded time."""
    p = Program(any_ledger).participants()
    assert p.enroll("F1")["ok"]
    p.counsel("F1")
    p.contraception("F1")
    assert p.test("F1")["ok"]
    p.survey("F1")
    p.at("2026-03-13 12:00")
    assert p.test("F1", collected_at=local("2026-03-13 07:00"))["ok"]

    at_ten = eligibility(any_ledger, "F1", as_of=local("2026-03-13 10:00"))
    assert at_ten["eligible"] is False
    assert {"T2", "T6"} <= {r["rule"] for r in at_ten["reasons"]}
    at_noon = eligibility(any_ledger, "F1", as_of=local("2026-03-13 12:00"))
    assert at_noon["eligible"] is True, at_noon["reasons"]


def test_eligibility_predicts_the_authorization_decision(any_ledger: Ledger) -> None:
    """At each step of an FRP's preparation, eligibility now answers exactly what an
    authorization request by the prescriber of record (28 days, electronic) then decides."""
    p = Program(any_ledger).participants()
    assert p.enroll("F1")["ok"]

    def second_test() -> object:
        p.advance(days=12)
        return p.test("F1", collected_at=p.now - timedelta(hours=1))

    steps: list[Callable[[], object]] = [
        lambda: None,
        lambda: p.counsel("F1"),
        lambda: p.contraception("F1"),
        lambda: p.test("F1"),
        second_test,
        lambda: p.survey("F1"),
    ]
    decided: dict[str, Any] = {}
    for step in steps:
        step()
        p.advance(minutes=5)
        predicted = eligibility(any_ledger, "F1", as_of=p.now)
        decided = p.authorize("F1")
        assert predicted["eligible"] is decided["ok"]
        if decided["ok"]:
            assert predicted["reasons"] == []
            assert predicted["risk_category"] == decided["risk_category"]
        else:
            assert predicted["reasons"] == decided["error"]["reasons"]
    assert decided["ok"] is True


def test_history_as_of_hides_events_recorded_after_t(any_ledger: Ledger) -> None:
    """History as of T lists the events recorded up to and including T, in recorded order, and
    nothing recorded later."""
    p = Program(any_ledger).participants()
    p.enroll("M1", sex="male")
    p.advance(hours=1)
    p.counsel("M1")
    counseled_at = p.now
    p.advance(days=1)
    p.survey("M1")

    everything = history(any_ledger, "M1")
    assert [e["type"] for e in everything["events"]] == [
        "PatientEnrolled",
        "CounselingRecorded",
        "PatientSurveyCompleted",
    ]
    at_t = history(any_ledger, "M1", as_of=counseled_at)
    assert [e["type"] for e in at_t["events"]] == ["PatientEnrolled", "CounselingRecorded"]
    assert at_t["events"][-1]["recorded_at"] == counseled_at.isoformat()
    just_before = history(any_ledger, "M1", as_of=counseled_at - timedelta(microseconds=1))
    assert [e["type"] for e in just_before["events"]] == ["PatientEnrolled"]


def test_a_bare_as_of_date_means_the_end_of_that_day_in_the_program_zone(
    any_ledger: Ledger,
) -> None:
    """`--as-of 2026-03-01` includes what was recorded at 23:30 New York time (already March 2 in
    UTC) and excludes what was recorded just after midnight New York time."""
    p = Program(any_ledger).participants()
    assert p.enroll("M1", sex="male")["ok"]
    p.at("2026-03-01 23:30")
    p.counsel("M1")
    p.at("2026-03-02 00:00:30")
    p.survey("M1")
    as_of = parse_as_of("2026-03-01", any_ledger)
    assert as_of.astimezone(TZ).date().isoformat() == "2026-03-01"
    known = history(any_ledger, "M1", as_of=as_of)["events"]
    assert [e["type"] for e in known] == ["PatientEnrolled", "CounselingRecorded"]
    assert eligibility(any_ledger, "M1", as_of=as_of)["eligible"] is True


# ------------------------------------------------------------------------ replay and durability


def test_replaying_stored_events_in_a_new_ledger_gives_the_same_state(
    any_ledger: Ledger, backend_url: str
) -> None:
    """A new Ledger on the same database rebuilds every patient and participant state equal to
    the live one, and answers eligibility the same."""
    p = Program(any_ledger).participants()
    p.ready_frp("F1")
    p.fill("F1")
    p.ready_male("M1")
    p.authorize("M1")
    p.run("suspend_pharmacy", pharmacy_id="PH1", reason="inspection")
    live = {pid: any_ledger.patient_state(pid) for pid in ("F1", "M1")}
    live_answers = {pid: eligibility(any_ledger, pid) for pid in ("F1", "M1")}

    replayed = reopen(backend_url)
    try:
        for pid, state in live.items():
            assert state is not None
            assert replayed.patient_state(pid) == state
            assert eligibility(replayed, pid) == live_answers[pid]
        for kind, pid in (("prescriber", "DR1"), ("pharmacy", "PH1")):
            assert replayed.participant_state(kind, pid) == any_ledger.participant_state(kind, pid)
        assert replayed.last_recorded_at == any_ledger.last_recorded_at
    finally:
        replayed.close()


def test_data_survives_reopening_the_database(any_ledger: Ledger, backend_url: str) -> None:
    """After the ledger is closed, a new one on the same URL has the same history, refuses an
    `at` before the last recorded one, and continues the patient's sequence."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    auth = p.authorize("M1", command_id="rx-1")
    last_at = p.now
    before = history(any_ledger, "M1")
    any_ledger.close()

    reopened = reopen(backend_url)
    try:
        assert history(reopened, "M1") == before
        assert reopened.last_recorded_at == last_at
        claim = reopened.claim("authorization", auth["authorization_number"])
        assert claim is not None
        assert claim.patient_id == "M1"
        repeat = Program(reopened, start=last_at).authorize("M1", command_id="rx-1")
        assert repeat["error"]["code"] == "duplicate"
        assert repeat["original"] == auth
        late = reopened.execute(
            {
                "command": "record_cbc",
                "at": (last_at - timedelta(minutes=1)).isoformat(),
                "patient_id": "M1",
                "collected_at": (last_at - timedelta(minutes=1)).isoformat(),
            }
        )
        assert late["error"]["code"] == "invalid"
        assert late["error"]["field"] == "at"
        resumed = Program(reopened, start=last_at + timedelta(hours=1))
        confirmation = resumed.confirm(auth["authorization_number"], "M1")
        assert confirmation["ok"], confirmation
        events = history(reopened, "M1")["events"]
        assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    finally:
        reopened.close()
