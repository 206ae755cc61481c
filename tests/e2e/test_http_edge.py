"""The HTTP edge hardened (issue 10): every answer that can carry patient data is sent with
`Cache-Control: no-store`, `nosniff`, `X-Frame-Options: DENY` and a Content-Security-Policy;
and a `duplicate` answers with its first result only to the caller it belongs to (the loser of
an enrollment race, or another pharmacy recording a used confirmation, gets 403 without it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from entrypoints.http.policy import check_command as real_check
from entrypoints.http.tokens import Principal
from tests.api_client import COMPLIANCE, DR1, DR2, PH1, PH2, Http, frp_form
from tests.conftest import make_ledger


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Http]:
    """An API app over a fresh SQLite ledger (event clock)."""
    app = Http(make_ledger(sqlite_url))
    yield app
    app.close()


def assert_guarded(response: httpx.Response, csp: str = "default-src 'none'") -> None:
    """The headers every answer carrying patient data sends."""
    assert response.headers["cache-control"] == "no-store", response.request.url
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith(csp)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_api_answers_carry_no_store_nosniff_deny_and_a_csp(api: Http) -> None:
    """Success, 401, 403, 404, 409, 413, 415 and 422 answers of /v1, and the OpenAPI document,
    all carry the four headers with `default-src 'none'`."""
    api.participants()
    api.ready_frp()
    big = {**api.auth(DR1), "Content-Type": "application/json"}
    answers = [
        api.get(DR1, "/v1/patients/PAT1/eligibility"),
        api.get(COMPLIANCE, "/v1/patients/PAT1/history"),
        api.get(COMPLIANCE, "/v1/due"),
        api.client.get("/v1/patients/PAT1/eligibility"),
        api.get(DR2, "/v1/patients/PAT1/history"),
        api.get(COMPLIANCE, "/v1/patients/NOPE/history"),
        api.get(COMPLIANCE, "/v1/patients/PAT1/history", as_of="nonsense"),
        api.post(DR1, "record_cbc", patient_id="PAT1", collected_at="x"),
        api.post(DR1, "request_authorization", patient_id="PAT1", prescriber_id="DR1",
                  daily_dose_mg=10, days_supply=28, refills=0, channel="telephone"),
        api.client.post("/v1/commands/record_cbc", content=b"x" * 70_000, headers=big),
        api.client.post("/v1/commands/record_cbc", content=b"{}", headers=api.auth(DR1)),
        api.client.get("/openapi.json"),
    ]  # fmt: skip
    statuses = [answer.status_code for answer in answers]
    assert statuses == [200, 200, 200, 401, 403, 404, 422, 422, 409, 413, 415, 200]
    for answer in answers:
        assert_guarded(answer)


def test_the_html_export_over_the_api_has_the_records_own_policy(api: Http) -> None:
    """GET /v1/patients/P/export?format=html is sent with the record's own CSP (inline style,
    data: images, nothing else) and the same no-store, nosniff and DENY headers."""
    api.participants()
    api.ready_frp()
    page = api.get(COMPLIANCE, "/v1/patients/PAT1/export", format="html")
    assert page.status_code == 200
    assert_guarded(page)
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]


def test_the_pages_keep_their_own_policy(api: Http) -> None:
    """The web pages keep theirs (forms post to the site itself), guarded the same way."""
    login = api.client.get("/ui/login")
    assert_guarded(login)
    assert "form-action 'self'" in login.headers["content-security-policy"]


# -- enrollment race -----------------------------------------------------------------------
def test_the_loser_of_an_enrollment_race_gets_403_never_the_winners_result(
    api: Http,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DR2 enrolls a new ID; between DR2's scope check (the patient did not exist yet) and its
    command, DR1's enrollment of the same ID lands. DR2 gets 403 with no enrollment result,
    and the patient stays DR1's."""
    api.participants()

    def check_then_lose_the_race(
        ledger: Any, principal: Principal, name: str, body: dict[str, Any]
    ) -> None:
        real_check(ledger, principal, name, body)
        if principal.subject == "DR2" and ledger.patient_state("PAT9") is None:
            winner = {"command": "enroll_patient", **api.body(name, **frp_form("PAT9", "DR1"))}
            assert ledger.execute(winner, actor=DR1)["ok"]

    monkeypatch.setattr("entrypoints.http.dependencies.check_command", check_then_lose_the_race)
    key = {"Idempotency-Key": "dr2-enroll-pat9"}
    loser = api.post(DR2, "enroll_patient", headers=key, **frp_form("PAT9", "DR2"))
    retried = api.post(DR2, "enroll_patient", headers=key, **frp_form("PAT9", "DR2"))
    for answer in (loser, retried):  # the retry finds DR2's receipt, which holds the duplicate
        assert answer.status_code == 403, answer.text
        body = answer.json()
        assert body["error"]["code"] == "forbidden"
        assert "original" not in body
        assert "enrolled_at" not in answer.text
        assert "risk_category" not in answer.text
    assert api.ledger.patient_state("PAT9").prescriber_id == "DR1"  # type: ignore[union-attr]  # PAT9 was enrolled above


def test_two_prescribers_enrolling_one_id_at_once_one_wins_the_other_is_403(api: Http) -> None:
    """DR1 and DR2 each enroll the same five new IDs at the same moment, from two threads:
    for each ID one gets 200 ok and the other 403 (never a 200 `duplicate` with the other's
    result), and the winner is the prescriber of record."""
    api.participants()
    for index in range(5):
        patient_id = f"RACE{index}"
        start = threading.Barrier(2)
        answers: dict[str, httpx.Response] = {}

        def enroll(
            who: str,
            patient_id: str = patient_id,
            start: Any = start,
            answers: dict[str, httpx.Response] = answers,
        ) -> None:
            body = api.body("enroll_patient", **frp_form(patient_id, who.partition(":")[2]))
            with TestClient(api.app) as client:
                start.wait()
                answers[who] = client.post(
                    "/v1/commands/enroll_patient", json=body, headers=api.auth(who)
                )

        threads = [threading.Thread(target=enroll, args=(who,)) for who in (DR1, DR2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [200, 403], {w: a.text for w, a in answers.items()}
        [winner] = [w for w, a in answers.items() if a.status_code == 200]
        assert answers[winner].json()["ok"] is True
        [loser] = [a for a in answers.values() if a.status_code == 403]
        assert "original" not in loser.json()
        state = api.ledger.patient_state(patient_id)
        assert state is not None
        assert state.prescriber_id == winner.partition(":")[2]


# -- another pharmacy's dispense of a used confirmation --------------------------------------
def _dispensed(api: Http) -> str:
    """PAT1 authorized, confirmed and dispensed by PH1: the confirmation number."""
    api.participants()
    api.ready_frp()
    number = api.authorize()["authorization_number"]
    confirmation = api.ok(
        PH1,
        "request_dispense_confirmation",
        pharmacy_id="PH1",
        patient_id="PAT1",
        authorization_number=number,
        days_supply=28,
    )["confirmation_number"]
    dispense(api, PH1, confirmation)
    return str(confirmation)


def dispense(
    api: Http, who: str, confirmation: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """`record_dispense` of a confirmation, as that pharmacy."""
    return api.post(
        who,
        "record_dispense",
        headers=headers,
        pharmacy_id=who.partition(":")[2],
        confirmation_number=confirmation,
        medication_guide_provided=True,
        counseled=True,
        capsules=28,
    )


def test_another_pharmacys_dispense_of_a_used_confirmation_is_403_D1_without_its_result(
    api: Http,
) -> None:
    """PH2 recording a dispense of PH1's dispensed confirmation gets 403 with D1 and nothing
    of PH1's result (no patient, no authorization number), also when it retries its key; nothing is
    recorded on the patient. PH1 repeating
    its own dispense still gets the 200 `duplicate` with its first result."""
    confirmation = _dispensed(api)
    versions = api.patient_versions("PAT1")
    key = {"Idempotency-Key": "ph2-dispense"}
    for _ in range(2):  # the retry finds PH2's receipt, which holds the duplicate
        other = dispense(api, PH2, confirmation, headers=key)
        assert other.status_code == 403, other.text
        error = other.json()["error"]
        assert error["code"] == "forbidden"
        assert [reason["rule"] for reason in error["reasons"]] == ["D1"]
        assert "original" not in other.json()
        assert "PAT1" not in other.text
        assert "RA-" not in other.text
    assert api.patient_versions("PAT1") == versions
    again = dispense(api, PH1, confirmation)
    assert again.status_code == 200
    assert again.json()["error"]["code"] == "duplicate"
    assert again.json()["original"]["patient_id"] == "PAT1"


# -- limits on every path, cookies over https ------------------------------------------------
def test_a_chunked_fhir_body_over_1_mib_is_a_413_operation_outcome(api: Http) -> None:
    """A chunked body over the FHIR prefix's 1 MiB limit to $rems-etasu (whose route turns any
    failure into a 500) is answered 413 in FHIR's own shape, with `Connection: close`."""
    chunk = b" " * 65536

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield chunk

    response = api.client.post(
        "/fhir/GuidanceResponse/$rems-etasu",
        content=chunks(),
        headers={**api.auth(DR1), "Content-Type": "application/fhir+json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.headers["connection"] == "close"
    assert_guarded(response)


def test_over_https_the_session_cookie_is_secure(api: Http) -> None:
    """A sign-in that arrived over https (a TLS proxy forwarding the scheme) sets the session
    and CSRF cookies with the Secure flag."""
    client = TestClient(api.app, base_url="https://testserver", follow_redirects=False)
    form = client.get("/ui/login")
    assert "secure" in form.headers["set-cookie"].lower()
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    signed = client.post("/ui/login", data={"token": api.token(COMPLIANCE), "csrf": csrf})
    assert signed.status_code == 303
    [session] = [c for c in signed.headers.get_list("set-cookie") if c.startswith("rems_session")]
    assert "secure" in {flag.strip().lower() for flag in session.split(";")}
