"""The web pages for compliance staff and auditors (issue 6, point 3), through FastAPI's
TestClient over a small program on SQLite, event clock on.

Signing in (cookie flags, redirects, other roles refused), the patient page (eligibility with
reasons, due, timeline, history, as-of), the work queue and its sorting, escaping of text a
patient's record carries, and pages that point nowhere outside the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from application.ledger import Ledger
from entrypoints.http.app import create_app
from entrypoints.http.tokens import Role
from entrypoints.web.signin import safe_next
from tests.conftest import make_ledger
from tests.program import Program

SCRIPT = "<script>alert(1)</script>"


def build_program(ledger: Ledger) -> None:
    """PAT1 (FRP) and PAT2 (male) filled on 2026-03-13, PAT3 (FRP) on 2026-03-26; PAT1 denied
    (T6) on 2026-04-12 09:00. On that day PAT1 is 23 days overdue, PAT3 10, PAT2 due today."""
    program = Program(ledger).participants()
    program.ready_frp("PAT1")
    program.fill("PAT1")
    program.ready_male("PAT2")
    program.fill("PAT2")
    program.at("2026-03-14 09:00")
    program.ready_frp("PAT3")
    program.fill("PAT3")
    program.at("2026-04-12 09:00")
    assert not program.authorize("PAT1")["ok"]


@dataclass
class Site:
    """The app over the program, with a token per role."""

    app: FastAPI
    tokens: dict[str, str]

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self, role: str = "compliance") -> TestClient:
        client = self.client()
        assert login(client, self.tokens[role]).status_code == 303
        return client


def make_site(ledger: Ledger) -> tuple[FastAPI, dict[str, str]]:
    """The API app over a ledger, and a fresh token for each role."""
    app = create_app(ledger=ledger)
    store = app.state.api.tokens
    subjects = {"compliance": "staff-1", "auditor": "audit-1", "prescriber": "DR1"}
    subjects["pharmacy"] = "PH1"
    tokens = {role: store.create(Role(role), subject)[1] for role, subject in subjects.items()}
    return app, tokens


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    ledger = make_ledger(f"sqlite:///{tmp_path / 'rems.db'}")
    build_program(ledger)
    app, tokens = make_site(ledger)
    yield Site(app, tokens)
    app.state.api.close()


def login(client: TestClient, token: str, next_path: str | None = None) -> Response:
    """Open the sign-in form (its CSRF value and cookie), then post the token with it."""
    form = client.get("/ui/login")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match, form.text
    data = {"token": token, "csrf": match[1]} | ({"next": next_path} if next_path else {})
    return client.post("/ui/login", data=data)


def session_cookie_set(response: Response) -> bool:
    """Whether the response opens a web session (sets a non-empty `rems_session`)."""
    return any(
        value.startswith("rems_session=")
        and not value.startswith("rems_session=;")
        and 'rems_session="";' not in value
        for value in response.headers.get_list("set-cookie")
    )


def history_types(html: str) -> list[str]:
    return re.findall(r'<tr data-type="([A-Za-z]+)">', html)


def queue_order(html: str) -> list[str]:
    return re.findall(r'class="queue-row" data-patient="([^"]+)"', html)


# -- signing in -------------------------------------------------------------------------------
def test_signed_out_pages_redirect_to_the_login_form(site: Site) -> None:
    client = site.client()
    for path in ("/ui", "/ui/due", "/ui/patients/PAT1", "/ui/patients/PAT1/export"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/ui/login?next=")
    form = client.get("/ui/login?next=/ui/due")
    assert form.status_code == 200
    assert 'type="password" id="token" name="token"' in form.text
    assert 'name="next" value="/ui/due"' in form.text


def test_login_sets_an_httponly_strict_cookie_and_returns_to_the_page(site: Site) -> None:
    client = site.client()
    asked = client.get("/ui/patients/PAT1?as_of=2026-03-20")
    assert (
        asked.headers["location"] == "/ui/login?next=%2Fui%2Fpatients%2FPAT1%3Fas_of%3D2026-03-20"
    )
    response = login(client, site.tokens["compliance"], "/ui/patients/PAT1?as_of=2026-03-20")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/patients/PAT1?as_of=2026-03-20"
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("rems_session=")]
    assert site.tokens["compliance"] not in " ".join(response.headers.get_list("set-cookie"))
    assert len(cookie.split(";")[0]) > len("rems_session=") + 40  # a random session ID
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert "secure" not in flags  # plain HTTP on 127.0.0.1; set when served over HTTPS
    page = client.get("/ui")
    assert page.status_code == 200
    assert '<b id="actor">compliance:staff-1</b>' in page.text
    for link in ('href="/ui"', 'href="/ui/due"', 'action="/ui/logout"'):
        assert link in page.text


def test_an_auditor_may_sign_in(site: Site) -> None:
    client = site.signed_in("auditor")
    assert "auditor:audit-1" in client.get("/ui/due").text


def test_after_login_the_browser_goes_nowhere_outside_ui() -> None:
    for bad in ("//evil.example/x", "https://evil.example", "/v1/due", "/ui/logout", "/uix", ""):
        assert safe_next(bad) == "/ui", bad
    assert safe_next("/ui/due?sort=patient") == "/ui/due?sort=patient"


def test_a_wrong_token_is_refused_and_sets_no_cookie(site: Site) -> None:
    client = site.client()
    for token in ("rems_not-a-token", ""):
        response = login(client, token)
        assert response.status_code == 401
        assert not session_cookie_set(response)
        assert 'id="login-error"' in response.text
    assert client.post("/ui/login", json={"token": site.tokens["compliance"]}).status_code == 415


@pytest.mark.parametrize("role", ["prescriber", "pharmacy"])
def test_prescriber_and_pharmacy_tokens_get_a_403_page(site: Site, role: str) -> None:
    client = site.client()
    response = login(client, site.tokens[role])
    assert response.status_code == 403
    assert not session_cookie_set(response)
    assert "compliance staff and auditors only" in response.text
    bearer = {"Authorization": f"Bearer {site.tokens[role]}"}
    for path in ("/ui", "/ui/due", "/ui/patients/PAT1"):
        page = client.get(path, headers=bearer)
        assert page.status_code == 403, path
        assert page.headers["content-type"].startswith("text/html")
        assert "PAT1" not in page.text


def test_logout_clears_the_cookie(site: Site) -> None:
    client = site.signed_in()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui").text)
    assert csrf
    response = client.post("/ui/logout", data={"csrf": csrf[1]})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("rems_session=")
    assert "max-age=0" in cookie
    assert "path=/ui" in cookie
    assert client.get("/ui").status_code == 303


def test_a_revoked_token_is_signed_out(site: Site) -> None:
    client = site.signed_in()
    store = site.app.state.api.tokens
    token_id = next(t["token_id"] for t in store.list() if t["subject"] == "staff-1")
    assert store.revoke(token_id)
    assert client.get("/ui/due").status_code == 303


# -- search and the patient page ---------------------------------------------------------------
def test_search_redirects_to_the_patient_page(site: Site) -> None:
    client = site.signed_in()
    assert 'id="patient_id" name="patient_id"' in client.get("/ui").text
    response = client.get("/ui", params={"patient_id": " PAT1 "})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/patients/PAT1"
    assert client.get("/ui", params={"patient_id": "a/b"}).headers["location"] == (
        "/ui/patients/a%2Fb"
    )
    assert client.get("/ui", params={"patient_id": "  "}).status_code == 422


def test_the_patient_page_shows_eligibility_reasons_due_timeline_and_history(site: Site) -> None:
    page = site.signed_in().get("/ui/patients/PAT1")
    assert page.status_code == 200
    html = page.text
    assert '<span class="badge bad" id="verdict">NOT ELIGIBLE</span>' in html
    assert (
        '<span class="rule bad">T6</span></td><td>The last negative pregnancy test must be' in html
    )
    assert "Adult female of reproductive potential" in html
    assert 'id="next-due"' in html
    assert "overdue 23 days" in html
    due = html.split('id="due"')[1].split("</section>")[0]
    assert "Due on 2026-04-12" in due
    assert ">T5<" in due
    assert ">S3<" in due
    assert '<svg class="timeline"' in html
    assert html.count('<g class="mark ') == 10
    assert history_types(html) == [
        "PatientEnrolled",
        "CounselingRecorded",
        "ContraceptionRecorded",
        "PregnancyTestRecorded",
        "PregnancyTestRecorded",
        "PatientSurveyCompleted",
        "AuthorizationIssued",
        "DispenseConfirmed",
        "DispenseRecorded",
        "AuthorizationDenied",
    ]
    denied_row = html.split('<tr data-type="AuthorizationDenied">')[1].split("</tr>")[0]
    assert "2026-04-12<br>09:00 EDT" in denied_row
    assert "batch" in denied_row
    assert '<span class="rule bad"' in denied_row
    assert ">T6</span>" in denied_row
    assert "rule set 2026.1" in denied_row
    assert 'id="as-of-form"' in html
    assert 'type="datetime-local"' in html


def test_as_of_hides_an_event_recorded_later(site: Site) -> None:
    client = site.signed_in()
    for as_of in ("2026-03-20", "2026-03-20T12:00:00", "2026-03-20T12:00:00-04:00"):
        html = client.get("/ui/patients/PAT1", params={"as_of": as_of}).text
        rows = history_types(html)
        assert "AuthorizationDenied" not in rows, as_of
        assert rows[-1] == "DispenseRecorded"
        assert len(rows) == 9
        assert 'id="as-of-notice"' in html
        assert "(1 event recorded later hidden)" in html
        assert "Due on 2026-03-20" in html
    # the picker's value is the instant in the program's zone
    html = client.get("/ui/patients/PAT1", params={"as_of": "2026-03-20T12:00:00"}).text
    assert 'value="2026-03-20T12:00:00"' in html
    # every recorded time links to the record as of that moment
    now = client.get("/ui/patients/PAT1").text
    assert 'href="/ui/patients/PAT1?as_of=2026-04-12T09%3A00%3A00-04%3A00"' in now


def test_before_enrollment_the_page_says_so(site: Site) -> None:
    html = site.signed_in().get("/ui/patients/PAT3", params={"as_of": "2026-03-10"}).text
    assert "NOT ENROLLED YET" in html
    assert history_types(html) == []
    assert "No fact recorded by then." in html


def test_bad_as_of_and_unknown_patients_get_clear_pages(site: Site) -> None:
    client = site.signed_in()
    for bad in ("yesterday", "2025-01-01", "x" * 100):
        response = client.get("/ui/patients/PAT1", params={"as_of": bad})
        assert response.status_code == 422, bad
        assert "Invalid as-of" in response.text
    missing = client.get("/ui/patients/NOPE")
    assert missing.status_code == 404
    assert "No patient NOPE is enrolled in the REMS" in missing.text
    assert client.get("/ui/patients/NOPE/export").status_code == 404


def test_the_inspection_record_opens_from_the_patient_page(site: Site) -> None:
    client = site.signed_in()
    assert 'href="/ui/patients/PAT1/export"' in client.get("/ui/patients/PAT1").text
    record = client.get("/ui/patients/PAT1/export")
    assert record.status_code == 200
    assert "REMS inspection record: patient PAT1" in record.text


# -- the work queue ----------------------------------------------------------------------------
def test_the_work_queue_sorts_by_how_overdue_or_by_patient(site: Site) -> None:
    client = site.signed_in()
    html = client.get("/ui/due").text
    assert queue_order(html) == ["PAT1", "PAT3", "PAT2"]
    assert 'id="queue-day">2026-04-12<' in html
    assert '<a href="/ui/patients/PAT3">PAT3</a>' in html
    assert 'href="/ui/due?sort=patient"' in html
    assert 'class="sorted"' in html
    assert queue_order(client.get("/ui/due?sort=patient").text) == ["PAT1", "PAT2", "PAT3"]
    assert queue_order(client.get("/ui/due?sort=overdue").text) == ["PAT1", "PAT3", "PAT2"]
    earlier = client.get("/ui/due", params={"on": "2026-03-20", "sort": "patient"}).text
    assert 'id="queue-day">2026-03-20<' in earlier
    assert 'href="/ui/due?sort=overdue&amp;on=2026-03-20"' in earlier
    assert client.get("/ui/due?sort=sideways").status_code == 422
    assert client.get("/ui/due?on=someday").status_code == 422


# -- escaping and self-containment -------------------------------------------------------------
def test_text_from_the_record_is_escaped(site: Site) -> None:
    client = site.client()
    bearer = {"Authorization": f"Bearer {site.tokens['compliance']}"}
    report = {
        "patient_id": "PAT1",
        "suspected_on": "2026-04-12",
        "reported_to_medwatch": True,
        "reported_to_rems": True,
        "at": "2026-04-12T10:00:00-04:00",
    }
    assert (
        client.post("/v1/commands/report_pregnancy", json=report, headers=bearer).status_code == 200
    )
    resolution = {
        "patient_id": "PAT1",
        "resolution": "not_pregnant",
        "evidence": SCRIPT,
        "resolved_on": "2026-04-12",
        "at": "2026-04-12T11:00:00-04:00",
    }
    response = client.post("/v1/commands/resolve_pregnancy_report", json=resolution, headers=bearer)
    assert response.status_code == 200, response.text
    assert login(client, site.tokens["compliance"]).status_code == 303
    for path in ("/ui/patients/PAT1", "/ui/patients/PAT1/export"):
        html = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert "<script" not in html, path
    resolved = client.get("/ui/patients/PAT1").text.split('data-type="PregnancyReportResolved"')[1]
    assert "<td>compliance:staff-1</td>" in resolved.split("</tr>")[0]  # the actor recorded
    # a search for markup is escaped too
    missing = client.get("/ui/patients/%3Cb%3Ex")
    assert missing.status_code == 404
    assert "No patient &lt;b&gt;x is enrolled" in missing.text


def test_no_page_points_outside_the_server(site: Site) -> None:
    client = site.client()
    pages = [client.get("/ui/login"), login(client, "wrong")]
    prescriber = {"Authorization": f"Bearer {site.tokens['prescriber']}"}
    pages.append(client.get("/ui", headers=prescriber))
    assert login(client, site.tokens["compliance"]).status_code == 303
    for path in (
        "/ui",
        "/ui/patients/PAT1",
        "/ui/patients/PAT1?as_of=2026-03-20",
        "/ui/patients/PAT1/export",
        "/ui/patients/NOPE",
        "/ui/due",
        "/ui/due?sort=patient&on=2026-03-20",
    ):
        pages.append(client.get(path))
    for response in pages:
        where = response.request.url
        assert response.headers["content-type"].startswith("text/html"), where
        assert not re.search(r"https?://", response.text), where
        assert "default-src 'none'" in response.headers["content-security-policy"], where
        assert response.headers["cache-control"] == "no-store", where
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/ui")]


def test_an_unknown_page_is_a_404_page(site: Site) -> None:
    client = site.client()
    assert client.get("/ui/nowhere").status_code == 303
    response = site.signed_in().get("/ui/nowhere/at/all")
    assert response.status_code == 404
    assert "No such page" in response.text
