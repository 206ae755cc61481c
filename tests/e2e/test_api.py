"""The HTTP API as prescriber, pharmacy and compliance systems use it (issue 6, points 1 and 4):
every command of the `rems apply` contract over POST with the same fields, results and error
codes as `Ledger.execute`, the status mapping, authentication, idempotency, the actor on the
events, every query as a GET, and the OpenAPI document. FastAPI's TestClient, no mocks; the
ledger runs the event clock so every command carries its `at`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from application.commands import COMMANDS
from application.ledger import Ledger
from application.queries import eligibility, history, parse_as_of
from application.replay import replay_decision
from application.views import Views
from audit.digest import compute_digest
from audit.record import render
from tests.api_client import (
    AUDITOR,
    COMPLIANCE,
    DR1,
    DR2,
    PH1,
    START,
    Http,
    frp_form,
)
from tests.builders import AUTH_REQUEST
from tests.conftest import make_ledger
from tests.program import ALL_TOPICS


@pytest.fixture
def http(sqlite_url: str) -> Iterator[Http]:
    """An API app over a fresh SQLite ledger (event clock)."""
    api = Http(make_ledger(sqlite_url))
    yield api
    api.close()


# ------------------------------------------------------------------------------ the journey
# (who, command, fields, HTTP status, error code or None). "$auth" and "$conf" stand for the
# numbers each side issued; "+N" in `who` first moves the clock N days.
Step = tuple[str, str, dict[str, Any], int, str | None]
JOURNEY: list[Step] = [
    (COMPLIANCE, "register_prescriber", {"prescriber_id": "DR1", "name": "Dr One",
     "address": "1 Clinic Way", "fax": "555-0100"}, 200, None),
    (COMPLIANCE, "register_prescriber", {"prescriber_id": "DR1", "name": "Dr One",
     "address": "1 Clinic Way", "fax": "555-0100"}, 200, "duplicate"),
    (COMPLIANCE, "register_prescriber", {"prescriber_id": "DR2", "name": "Dr Two",
     "address": "2 Clinic Way"}, 422, "invalid"),
    (COMPLIANCE, "register_prescriber", {"prescriber_id": "DR2", "name": "Dr Two",
     "address": "2 Clinic Way", "fax": "555-0101"}, 200, None),
    (COMPLIANCE, "certify_prescriber", {"prescriber_id": "DR1"}, 200, None),
    (COMPLIANCE, "certify_prescriber", {"prescriber_id": "DR2"}, 200, None),
    (COMPLIANCE, "certify_pharmacy", {"pharmacy_id": "PH1", "name": "Main Pharmacy",
     "address": "2 Main St"}, 200, None),
    (COMPLIANCE, "certify_pharmacy", {"pharmacy_id": "PH2", "name": "Other Pharmacy",
     "address": "3 Main St"}, 200, None),
    (COMPLIANCE, "change_prescriber", {"patient_id": "NOPE", "prescriber_id": "DR2"}, 404,
     "not_found"),
    (DR1, "enroll_patient", frp_form(), 200, None),
    (DR1, "enroll_patient", frp_form(), 200, "duplicate"),
    (DR1, "request_authorization", AUTH_REQUEST, 409, "denied"),
    (DR1, "update_reproductive_status", {"patient_id": "PAT1", "menstruation": "regular"}, 200,
     None),
    (DR1, "record_counseling", {"patient_id": "PAT1", "prescriber_id": "DR1",
     "topics": ALL_TOPICS}, 200, None),
    (DR1, "record_contraception", {"patient_id": "PAT1", "methods": ["iud", "male_condom"],
     "started_on": "2026-01-20"}, 200, None),
    (DR1, "record_pregnancy_test", {"patient_id": "PAT1", "collected_at": "$now",
     "result": "negative", "sensitivity_miu_per_ml": 25}, 200, None),
    (DR1 + "+12", "record_pregnancy_test", {"patient_id": "PAT1", "collected_at": "$now",
     "result": "negative", "sensitivity_miu_per_ml": 25}, 200, None),
    (DR1, "record_patient_survey", {"patient_id": "PAT1", "compliant": True}, 200, None),
    (DR1, "request_authorization", AUTH_REQUEST, 200, None),
    (PH1, "request_dispense_confirmation", {"pharmacy_id": "PH1", "patient_id": "PAT1",
     "authorization_number": "RA-0000-0000-0000", "days_supply": 28}, 404, "not_found"),
    (PH1, "request_dispense_confirmation", {"pharmacy_id": "PH1", "patient_id": "PAT1",
     "authorization_number": "$auth", "days_supply": 28}, 200, None),
    (PH1, "record_dispense", {"pharmacy_id": "PH1", "confirmation_number": "$conf",
     "medication_guide_provided": True, "counseled": True, "capsules": 28}, 200, None),
    (PH1, "record_dispense", {"pharmacy_id": "PH1", "confirmation_number": "$conf",
     "medication_guide_provided": True, "counseled": True, "capsules": 28}, 200, "duplicate"),
    (DR1 + "+1", "record_cbc", {"patient_id": "PAT1", "collected_at": "$now"}, 200, None),
    (PH1, "record_capsule_return", {"patient_id": "PAT1", "capsules": 3,
     "returned_to": "pharmacy"}, 200, None),
    (DR1, "record_menstrual_abnormality", {"patient_id": "PAT1", "noted_on": "$today"}, 200,
     None),
    (DR1, "report_pregnancy", {"patient_id": "PAT1", "suspected_on": "$today",
     "reported_to_medwatch": True, "reported_to_rems": True}, 200, None),
    (DR1, "request_authorization", AUTH_REQUEST, 409, "denied"),
    (COMPLIANCE, "resolve_pregnancy_report", {"patient_id": "PAT1",
     "resolution": "not_pregnant", "evidence": "negative serum test", "resolved_on": "$today"},
     200, None),
    (COMPLIANCE, "review_possible_duplicate", {"patient_id": "PAT1", "other_patient_id": "PAT2",
     "finding": "distinct_people", "evidence": "never flagged"}, 404, "not_found"),
    (COMPLIANCE, "change_prescriber", {"patient_id": "PAT1", "prescriber_id": "DR2"}, 200, None),
    (DR2, "discontinue_therapy", {"patient_id": "PAT1", "last_dose_on": "$today",
     "reason": "completed course"}, 200, None),
    (COMPLIANCE, "suspend_prescriber", {"prescriber_id": "DR1", "reason": "lapsed"}, 200, None),
    (COMPLIANCE, "suspend_pharmacy", {"pharmacy_id": "PH2", "reason": "audit"}, 200, None),
]  # fmt: skip


def _resolve(value: Any, numbers: dict[str, str], now: datetime) -> Any:
    if value == "$now":
        return now.isoformat()
    if value == "$today":
        return now.date().isoformat()
    if isinstance(value, str) and value in numbers:
        return numbers[value]
    return value


def _normalize(value: Any, numbers: dict[str, str]) -> Any:
    """Replace each side's issued numbers by their placeholders, wherever they appear."""
    if isinstance(value, dict):
        return {k: _normalize(v, numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v, numbers) for v in value]
    if isinstance(value, str):
        for placeholder, number in numbers.items():
            value = value.replace(number, placeholder)
    return value


def _remember(result: dict[str, Any], numbers: dict[str, str]) -> None:
    if result.get("ok") and "authorization_number" in result:
        numbers["$auth"] = result["authorization_number"]
    if result.get("ok") and "confirmation_number" in result:
        numbers["$conf"] = result["confirmation_number"]


def run_journey(api: Http, twin: Ledger | None = None) -> dict[str, Any]:
    """Drive JOURNEY over HTTP (and, given a twin ledger, the same commands through
    `Ledger.execute`), asserting each status and code and that both sides answer the same.
    Returns the numbers issued over HTTP and the results by step."""
    numbers: dict[str, str] = {}
    twin_numbers: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    for who, command, fields, status, code in JOURNEY:
        who, _, days = who.partition("+")
        if days:
            api.advance(days=int(days))
        body = {k: _resolve(v, numbers, api.now) for k, v in fields.items()}
        response = api.post(who, command, **body)
        result = response.json()
        assert response.status_code == status, (command, result)
        assert result["ok"] is (code is None), (command, result)
        if code is not None:
            assert result["error"]["code"] == code, (command, result)
        _remember(result, numbers)
        if twin is not None:
            twin_body = {k: _resolve(v, twin_numbers, api.now) for k, v in fields.items()}
            expected = twin.execute({"command": command, **api.body(command, **twin_body)})
            _remember(expected, twin_numbers)
            assert _normalize(result, numbers) == _normalize(expected, twin_numbers), command
        results.append(result)
    return {"numbers": numbers, "results": results}


def test_every_command_over_http_answers_like_ledger_execute(http: Http, tmp_path: Path) -> None:
    """A whole FRP journey over HTTP with each role's token touches every command of the
    contract and answers each with the same result and error code as `Ledger.execute` on a
    twin ledger, under the documented status mapping."""
    twin = make_ledger(f"sqlite:///{tmp_path / 'twin.db'}")
    try:
        outcome = run_journey(http, twin)
    finally:
        twin.close()
    assert {command for _, command, *_ in JOURNEY} == set(COMMANDS)
    step = next(s for s in JOURNEY if s[1] == "request_authorization" and s[3] == 200)
    issued = outcome["results"][JOURNEY.index(step)]
    assert issued["risk_category"] == "adult_female_reproductive_potential"
    assert issued["expires_at"]


def test_journey_on_each_backend(backend_url: str, tmp_path: Path) -> None:
    """The same journey over HTTP on SQLite and on the real PostgreSQL server answers exactly as
    `Ledger.execute` on a twin, records each actor, and verifies."""
    api = Http(make_ledger(backend_url))
    twin = make_ledger(f"sqlite:///{tmp_path / 'twin.db'}")
    try:
        outcome = run_journey(api, twin)
        assert set(outcome["numbers"]) == {"$auth", "$conf"}
        events = api.get(AUDITOR, "/v1/patients/PAT1/history").json()["events"]
        assert {e["actor"] for e in events} == {DR1, DR2, PH1, COMPLIANCE}
        report = api.get(AUDITOR, "/v1/verify")
        assert report.status_code == 200
        assert report.json()["ok"] is True
    finally:
        twin.close()
        api.close()


def test_denied_is_409_with_every_unmet_rule(http: Http) -> None:
    """An authorization requested right after an FRP's enrollment is 409 `denied` and lists
    every unmet rule once, each with a message: counseling, survey, both tests, the test's age
    and contraception."""
    http.participants()
    http.ok(DR1, "enroll_patient", **frp_form())
    response = http.post(DR1, "request_authorization", **AUTH_REQUEST)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "denied"
    rules = [r["rule"] for r in error["reasons"]]
    assert rules == ["K1", "S2", "T1", "T2", "T6", "C1", "C2"]
    assert all(r["message"] for r in error["reasons"])
    assert "retryable" not in error
    assert "retry-after" not in response.headers


def test_conflict_is_409_retryable_with_retry_after(tmp_path: Path, monkeypatch) -> None:
    """Two API processes on one SQLite file: the second decides on the patient, the first
    appends, the second's stale append is 409 `conflict` with `retryable: true` and
    Retry-After, nothing of it is recorded (not even its Idempotency-Key), and the retry with
    the same key is applied, not answered as a duplicate."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Http(make_ledger(url)), Http(make_ledger(url))
    try:
        first.participants()
        first.ok(DR1, "enroll_patient", **{**frp_form(), "sex": "male", "menstruation": None})
        second.now = first.now
        stale_commit = second.ledger._commit
        interleaved: list[dict[str, Any]] = []

        def commit_after_the_other(*args: Any, **kwargs: Any) -> None:
            if not interleaved:  # the other process appends between decide and commit
                interleaved.append(
                    first.ok(DR1, "record_cbc", patient_id="PAT1", collected_at=first.now)
                )
            stale_commit(*args, **kwargs)

        monkeypatch.setattr(second.ledger, "_commit", commit_after_the_other)
        before = second.patient_versions("PAT1")
        key = {"Idempotency-Key": "survey-after-conflict"}
        survey = {"patient_id": "PAT1", "compliant": True}
        response = second.post(DR1, "record_patient_survey", headers=key, **survey)
        assert response.status_code == 409, response.text
        assert response.headers["retry-after"].isdigit()
        error = response.json()["error"]
        assert error["code"] == "conflict"
        assert error["retryable"] is True
        assert error["reasons"] == []
        assert "PAT1" in error["message"]
        assert second.patient_versions("PAT1") == before + 1  # the other's CBC only
        types = [
            e["type"] for e in first.get(COMPLIANCE, "/v1/patients/PAT1/history").json()["events"]
        ]
        assert "PatientSurveyCompleted" not in types
        assert second.ledger.receipt("prescriber:DR1", "survey-after-conflict") is None
        retry = second.post(DR1, "record_patient_survey", headers=key, **survey)
        assert retry.status_code == 200, retry.text
        assert retry.json() == {"ok": True, "patient_id": "PAT1", "compliant": True}
        assert second.patient_versions("PAT1") == before + 2
    finally:
        first.close()
        second.close()


def test_unauthenticated_is_401_on_commands_and_queries(http: Http) -> None:
    """No token, a malformed header, an unknown token and a revoked token are each 401 with
    WWW-Authenticate, on a POST and on a GET, and nothing is recorded."""
    http.participants()
    http.ok(DR1, "enroll_patient", **frp_form())
    revoked = http.token(DR2)
    assert http.state.tokens.revoke(http.token_id(DR2)) is True
    before = http.log_size()
    body = http.body("record_cbc", patient_id="PAT1", collected_at=http.now)
    variants: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer rems_not-a-real-token"},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": f"Token {http.token(DR1)}"},
    ]
    for headers in variants:
        post = http.client.post("/v1/commands/record_cbc", json=body, headers=headers)
        assert post.status_code == 401, (headers, post.text)
        assert post.headers["www-authenticate"] == "Bearer"
        assert post.json()["error"]["code"] == "unauthenticated"
        get = http.client.get("/v1/patients/PAT1/history", headers=headers)
        assert get.status_code == 401, (headers, get.text)
        assert get.json()["error"]["code"] == "unauthenticated"
    assert http.log_size() == before


def test_a_revoked_token_stops_working_at_once(http: Http) -> None:
    """A token that worked is 401 on its very next request after revocation."""
    http.participants()
    assert http.get(AUDITOR, "/v1/digest").status_code == 200
    assert http.state.tokens.revoke(http.token_id(AUDITOR)) is True
    assert http.get(AUDITOR, "/v1/digest").status_code == 401
    assert http.state.tokens.revoke(http.token_id(AUDITOR)) is False


def _survey_count(http: Http) -> int:
    events = http.get(COMPLIANCE, "/v1/patients/PAT1/history").json()["events"]
    return sum(e["type"] == "PatientSurveyCompleted" for e in events)


@pytest.mark.parametrize("how", ["header", "body"])
def test_a_retried_post_returns_the_first_result_and_records_nothing_twice(
    http: Http, how: str
) -> None:
    """Retrying a POST with the same Idempotency-Key header (or `command_id` in the body)
    answers 200 `duplicate` with the first result as `original`, and the history holds the
    fact once; a new key records a new fact."""
    http.participants()
    http.ok(DR1, "enroll_patient", **frp_form())

    def send(key: str) -> httpx.Response:
        if how == "header":
            return http.post(
                DR1,
                "record_patient_survey",
                headers={"Idempotency-Key": key},
                patient_id="PAT1",
                compliant=True,
            )
        return http.post(
            DR1, "record_patient_survey", patient_id="PAT1", compliant=True, command_id=key
        )

    first = send("survey-0001")
    assert first.status_code == 200
    assert first.json() == {"ok": True, "patient_id": "PAT1", "compliant": True}
    log_after_first = http.log_size()
    for _ in range(2):
        http.advance(minutes=5)
        retry = send("survey-0001")
        assert retry.status_code == 200
        body = retry.json()
        assert body["ok"] is False
        assert body["error"]["code"] == "duplicate"
        assert body["original"] == first.json()
    assert _survey_count(http) == 1
    assert http.log_size() == log_after_first
    assert send("survey-0002").json()["ok"] is True
    assert _survey_count(http) == 2


def test_the_header_and_the_body_key_are_one_key(http: Http) -> None:
    """A command first sent with `command_id` in the body is a duplicate when retried with the
    same value as Idempotency-Key; a header that contradicts the body's `command_id` is 422 and
    records nothing."""
    http.participants()
    http.ok(DR1, "enroll_patient", **frp_form())
    first = http.post(DR1, "record_cbc", patient_id="PAT1", collected_at=http.now, command_id="k1")
    assert first.status_code == 200
    retry = http.post(
        DR1,
        "record_cbc",
        headers={"Idempotency-Key": "k1"},
        patient_id="PAT1",
        collected_at=http.now,
    )
    assert retry.status_code == 200
    assert retry.json()["original"] == first.json()
    before = http.log_size()
    clash = http.post(
        DR1,
        "record_cbc",
        headers={"Idempotency-Key": "k2"},
        patient_id="PAT1",
        collected_at=http.now,
        command_id="k3",
    )
    assert clash.status_code == 422
    assert clash.json()["error"]["code"] == "invalid"
    assert clash.json()["error"]["field"] == "command_id"
    assert http.log_size() == before


def test_an_idempotent_denial_is_returned_again_not_re_decided(http: Http) -> None:
    """A denied authorization retried with its Idempotency-Key answers `duplicate` with the
    original denial (200), and only one AuthorizationDenied is in the history."""
    http.participants()
    http.ok(DR1, "enroll_patient", **frp_form())
    key = {"Idempotency-Key": "auth-attempt-1"}
    first = http.post(DR1, "request_authorization", headers=key, **AUTH_REQUEST)
    assert first.status_code == 409
    retry = http.post(DR1, "request_authorization", headers=key, **AUTH_REQUEST)
    assert retry.status_code == 200
    assert retry.json()["error"]["code"] == "duplicate"
    assert retry.json()["original"] == first.json()
    events = http.get(COMPLIANCE, "/v1/patients/PAT1/history").json()["events"]
    assert sum(e["type"] == "AuthorizationDenied" for e in events) == 1


def test_another_callers_idempotency_key_does_not_reveal_their_result(http: Http) -> None:
    """A prescriber who reuses another prescriber's Idempotency-Key never receives the other's
    result (their patient and authorization number); the answer is a 4xx of its own."""
    http.participants()
    http.ready_frp("PAT1", DR1)
    first = http.post(
        DR1, "request_authorization", headers={"Idempotency-Key": "dr1-auth-42"}, **AUTH_REQUEST
    )
    number = first.json()["authorization_number"]
    http.ok(DR2, "enroll_patient", **frp_form("PAT2", "DR2"))
    probe = http.post(
        DR2,
        "request_authorization",
        headers={"Idempotency-Key": "dr1-auth-42"},
        **{**AUTH_REQUEST, "patient_id": "PAT2", "prescriber_id": "DR2"},
    )
    assert number not in probe.text
    assert "PAT1" not in probe.text
    assert 400 <= probe.status_code < 500


def test_the_actor_is_recorded_on_every_event_it_causes(http: Http) -> None:
    """History shows `role:subject` of the token that caused each event: the prescriber's
    facts and decisions, the pharmacy's confirmation and dispense, compliance's change of
    prescriber, and the new prescriber's discontinuation."""
    outcome = run_journey(http)
    assert outcome["numbers"]
    events = http.get(AUDITOR, "/v1/patients/PAT1/history").json()["events"]
    actors = {e["type"]: e["actor"] for e in events}
    assert actors["PatientEnrolled"] == DR1
    assert actors["PregnancyTestRecorded"] == DR1
    assert actors["AuthorizationIssued"] == DR1
    assert actors["AuthorizationDenied"] == DR1
    assert actors["DispenseConfirmed"] == PH1
    assert actors["PregnancyReportResolved"] == COMPLIANCE
    assert actors["PrescriberChanged"] == COMPLIANCE
    assert actors["TherapyDiscontinued"] == DR2
    assert all(e["actor"] != "batch" for e in events)


# ------------------------------------------------------------------------------ queries
@dataclass
class Journeyed:
    """The app after the whole journey, and the numbers it issued."""

    api: Http
    numbers: dict[str, str]


@pytest.fixture
def journeyed(http: Http) -> Journeyed:
    """The app after the whole journey (PAT1: issued, dispensed, reported, resolved,
    transferred to DR2, discontinued)."""
    return Journeyed(http, run_journey(http)["numbers"])


def test_every_query_is_a_get_that_answers_like_the_library(journeyed: Journeyed) -> None:
    """Eligibility (read model, and as of a time), history (whole, and as of a time), replay,
    due, report, verify (with a digest), digest and export JSON/HTML answer 200 over GET with
    the same content as the in-process queries."""
    api, numbers = journeyed.api, journeyed.numbers
    ledger = api.ledger
    midway = (START + timedelta(days=12, hours=1)).isoformat()

    def get(path: str, **params: str) -> Any:
        response = api.get(COMPLIANCE, path, **params)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    assert get("/v1/patients/PAT1/history") == history(ledger, "PAT1")
    as_of = get("/v1/patients/PAT1/history", as_of=midway)
    assert as_of == orjson.loads(orjson.dumps(history(ledger, "PAT1", parse_as_of(midway, ledger))))
    assert len(as_of["events"]) < len(history(ledger, "PAT1")["events"])
    assert get("/v1/patients/PAT1/history", as_of="2026-03-01")["events"][0]["type"] == (
        "PatientEnrolled"
    )
    assert get("/v1/patients/PAT1/eligibility", as_of=midway) == orjson.loads(
        orjson.dumps(eligibility(ledger, "PAT1", parse_as_of(midway, ledger)))
    )
    now = get("/v1/patients/PAT1/eligibility")
    assert now["patient_id"] == "PAT1"
    assert isinstance(now["eligible"], bool)
    assert {"risk_category", "reasons", "next_due"} <= set(now)
    views = Views(ledger)
    try:
        assert ledger.last_recorded_at is not None
        assert now == orjson.loads(orjson.dumps(views.eligibility("PAT1", ledger.last_recorded_at)))
    finally:
        views.close()
    for reference in (numbers["$auth"], numbers["$conf"]):
        replay = get(f"/v1/decisions/{reference}/replay")
        assert replay["same"] is True
        assert replay == orjson.loads(orjson.dumps(replay_decision(ledger, reference)))
    denied_version = next(
        e["version"]
        for e in history(ledger, "PAT1")["events"]
        if e["type"] == "AuthorizationDenied"
    )
    assert get(f"/v1/decisions/PAT1@{denied_version}/replay")["same"] is True
    due = get("/v1/due", on="2026-04-30")
    assert due["on"] == "2026-04-30"
    assert isinstance(due["patients"], list)
    assert get("/v1/due")["patients"] is not None
    report = get("/v1/report")
    assert report
    verification = get("/v1/verify")
    assert verification["ok"] is True
    assert verification["events_checked"] == api.log_size()
    digest = get("/v1/digest")
    assert digest == compute_digest(ledger).to_json()
    assert get("/v1/verify", digest=digest["digest"])["ok"] is True
    exported = get("/v1/patients/PAT1/export")
    expected = orjson.loads(render(ledger, "PAT1", "json"))
    exported.pop("generated_at"), expected.pop("generated_at")
    assert exported == expected
    assert get("/v1/patients/PAT1/export", format="json")["patient_id"] == "PAT1"
    html = api.get(AUDITOR, "/v1/patients/PAT1/export", format="html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.lstrip().lower().startswith("<!doctype html")
    assert "PAT1" in html.text
    assert "<svg" in html.text


def test_query_errors_map_to_statuses(journeyed: Journeyed) -> None:
    """An unknown patient or number is 404, a malformed as-of, digest, format or reference is
    422, and an as-of before the ledger existed is 422; all in the contract's error shape."""
    cases = [
        ("/v1/patients/NOPE/history", {}, 404, "not_found"),
        ("/v1/patients/NOPE/eligibility", {}, 404, "not_found"),
        ("/v1/patients/NOPE/export", {}, 404, "not_found"),
        ("/v1/decisions/RA-0000-0000-0000/replay", {}, 404, "not_found"),
        ("/v1/decisions/PAT1@x/replay", {}, 422, "invalid"),
        ("/v1/patients/PAT1/history", {"as_of": "yesterday"}, 422, "invalid"),
        ("/v1/patients/PAT1/history", {"as_of": "2026-03-01T09:00:00"}, 422, "invalid"),
        ("/v1/patients/PAT1/eligibility", {"as_of": "2020-01-01"}, 422, "invalid"),
        ("/v1/patients/PAT1/export", {"format": "pdf"}, 422, "invalid"),
        ("/v1/verify", {"digest": "not-a-digest"}, 422, "invalid"),
        ("/v1/due", {"on": "13/13/2026"}, 422, "invalid"),
    ]
    api = journeyed.api
    before = api.log_size()
    for path, params, status, code in cases:
        response = api.get(COMPLIANCE, path, **params)
        assert response.status_code == status, (path, params, response.text)
        error = response.json()["error"]
        assert error["code"] == code, (path, params, error)
        assert error["message"]
        assert error["reasons"] == []
    assert api.log_size() == before


def test_queries_are_gets_only(journeyed: Journeyed) -> None:
    """A POST to a query path is 405 and records nothing."""
    api = journeyed.api
    before = api.log_size()
    for path in ("/v1/patients/PAT1/history", "/v1/due", "/v1/verify", "/v1/digest"):
        response = api.client.post(path, json={}, headers=api.auth(COMPLIANCE))
        assert response.status_code == 405, path
    assert api.log_size() == before


# ------------------------------------------------------------------------------ OpenAPI
def test_openapi_lists_every_command_with_its_request_body(http: Http) -> None:
    """/openapi.json has one POST per command whose request body is the command's JSON Schema
    (every contract field, unknown fields forbidden), an Idempotency-Key header, the error
    responses, every query as a GET, and bearer security; /docs serves the docs page."""
    document = http.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name, model in COMMANDS.items():
        operation = document["paths"][f"/v1/commands/{name}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rpartition("/")[2]]
        assert set(model.model_fields) <= set(schema["properties"]), name
        assert schema.get("additionalProperties") is False, name
        required = {n for n, f in model.model_fields.items() if f.is_required()} - {"command"}
        assert set(schema.get("required", [])) == required, name
        assert operation["requestBody"]["required"] is True
        assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
        assert {"200", "401", "403", "404", "409", "413", "415", "422"} <= set(
            operation["responses"]
        )
    queries = {
        "/v1/patients/{patient_id}/eligibility",
        "/v1/patients/{patient_id}/history",
        "/v1/patients/{patient_id}/export",
        "/v1/decisions/{reference}/replay",
        "/v1/due",
        "/v1/report",
        "/v1/verify",
        "/v1/digest",
    }
    for path in queries:
        assert set(document["paths"][path]) == {"get"}, path
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    docs = http.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "/openapi.json" in docs.text


def test_healthz_needs_no_token(http: Http) -> None:
    """/healthz answers 200 without a token."""
    assert http.client.get("/healthz").json() == {"ok": True}
