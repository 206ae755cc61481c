"""The web sign-in hardened (issue 10, "The HTTP edge"): a server-side session instead of the
API token in the cookie, with an expiry and revocable; a CSRF value and an Origin check on the
sign-in and sign-out forms; sign-out by POST only; failed sign-ins throttled per client
address (429 with Retry-After); and the API (`/v1`) reads bearer tokens only, never a cookie.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from entrypoints.web.sessions import SESSION_SECONDS
from tests.conftest import make_ledger
from tests.e2e.test_web_pages import build_program, login, make_site


class Clock:
    """The pages' clock, moved by the test (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Site:
    """The app over a small program, a token per role, the pages' clock and the database."""

    app: FastAPI
    tokens: dict[str, str]
    clock: Clock
    database: Path

    def client(self, address: str = "10.0.0.1") -> TestClient:
        return TestClient(self.app, follow_redirects=False, client=(address, 50000))

    def signed_in(self) -> TestClient:
        client = self.client()
        assert login(client, self.tokens["compliance"]).status_code == 303
        return client


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    database = tmp_path / "rems.db"
    ledger = make_ledger(f"sqlite:///{database}")
    build_program(ledger)
    app, tokens = make_site(ledger)
    clock = Clock()
    app.state.web.clock = clock
    yield Site(app, tokens, clock, database)
    app.state.api.close()


def csrf_of(html: str) -> str:
    """The CSRF value of the first form on a page."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match[1]


def session_of(client: TestClient) -> str:
    """The value of the client's `rems_session` cookie."""
    value = client.cookies.get("rems_session")
    assert value
    return value


def post_login(client: TestClient, token: str, **headers: str) -> Response:
    form = client.get("/ui/login")
    return client.post(
        "/ui/login", data={"token": token, "csrf": csrf_of(form.text)}, headers=headers
    )


# -- the session ---------------------------------------------------------------------------
def test_the_cookie_is_a_random_session_id_stored_only_hashed(site: Site) -> None:
    """After signing in, the browser holds `rems_session` (not the token), and the database
    keeps neither the session ID nor the token in clear."""
    client = site.signed_in()
    session = session_of(client)
    assert site.tokens["compliance"] not in str(client.cookies.jar)
    assert "rems_token" not in client.cookies
    with sqlite3.connect(site.database) as db:
        rows = db.execute("SELECT * FROM web_sessions").fetchall()
    assert len(rows) == 1
    assert session not in repr(rows)
    assert site.tokens["compliance"] not in repr(rows)
    assert client.get("/ui/due").status_code == 200


def test_a_session_expires_after_a_working_day(site: Site) -> None:
    """A session works until SESSION_SECONDS after it opened and not one second longer: the
    pages then send the browser back to the sign-in form."""
    client = site.signed_in()
    site.clock.now += SESSION_SECONDS - 1
    assert client.get("/ui/due").status_code == 200
    site.clock.now += 1
    response = client.get("/ui/due")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=")


def test_a_forged_or_unknown_session_id_is_signed_out(site: Site) -> None:
    """A cookie with a made-up session ID, or with the API token itself, opens nothing."""
    for value in ("made-up", site.tokens["compliance"]):
        client = site.client()
        client.cookies.set("rems_session", value, path="/ui")
        assert client.get("/ui/due").status_code == 303


# -- signing out ---------------------------------------------------------------------------
def test_logout_by_post_revokes_the_session_on_the_server(site: Site) -> None:
    """POST /ui/logout with the page's CSRF value ends the session: the same session ID sent
    again (a copied cookie) no longer opens a page."""
    client = site.signed_in()
    session = session_of(client)
    response = client.post("/ui/logout", data={"csrf": csrf_of(client.get("/ui").text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"
    replay = site.client()
    replay.cookies.set("rems_session", session, path="/ui")
    assert replay.get("/ui/due").status_code == 303
    with sqlite3.connect(site.database) as db:
        [(revoked_at,)] = db.execute("SELECT revoked_at FROM web_sessions").fetchall()
    assert revoked_at


def test_logout_by_get_only_shows_the_button(site: Site) -> None:
    """GET /ui/logout (a link, an image, a prefetch) does not sign out: it shows a sign-out
    form, and the session still works."""
    client = site.signed_in()
    page = client.get("/ui/logout")
    assert page.status_code == 200
    assert '<form method="post" action="/ui/logout"' in page.text
    assert client.get("/ui/due").status_code == 200


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({}, {}),
        ({"csrf": "wrong"}, {}),
        ("csrf-from-page", {"Origin": "https://evil.example"}),
        ("csrf-from-page", {"Origin": "null"}),
        ("csrf-from-page", {"Referer": "https://evil.example/page"}),
    ],
)
def test_logout_without_the_csrf_value_or_from_another_origin_is_403(
    site: Site, data: dict[str, str] | str, headers: dict[str, str]
) -> None:
    """A sign-out form posted without the session's CSRF value, with a wrong one, or from
    another origin is refused (403) and the session goes on."""
    client = site.signed_in()
    if data == "csrf-from-page":
        data = {"csrf": csrf_of(client.get("/ui").text)}
    response = client.post("/ui/logout", data=data, headers=headers)
    assert response.status_code == 403
    assert client.get("/ui/due").status_code == 200


# -- signing in ----------------------------------------------------------------------------
def test_login_without_the_forms_csrf_value_is_403_and_opens_no_session(site: Site) -> None:
    """A sign-in posted without the CSRF value, with one that does not match the form's
    cookie, or from another origin, is refused (403) even with a good token."""
    token = site.tokens["compliance"]
    bare = site.client()
    assert bare.post("/ui/login", data={"token": token}).status_code == 403
    forged = site.client()
    forged.get("/ui/login")
    assert forged.post("/ui/login", data={"token": token, "csrf": "x" * 43}).status_code == 403
    foreign = site.client()
    assert post_login(foreign, token, Origin="https://evil.example").status_code == 403
    for client in (bare, forged, foreign):
        assert "rems_session" not in client.cookies
    same = site.client()
    assert post_login(same, token, Origin="http://testserver").status_code == 303


def test_five_failed_sign_ins_a_minute_then_429_with_retry_after(site: Site) -> None:
    """Five wrong tokens from one address are 401; the sixth attempt is 429 with Retry-After,
    even with a good token (the token is not looked at); another address still signs in; a
    minute after the first failure the first address may try again."""
    client = site.client("10.0.0.7")
    for _ in range(5):
        assert post_login(client, "rems_wrong").status_code == 401
        site.clock.now += 1
    throttled = post_login(client, site.tokens["compliance"])
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) == 55
    assert "rems_session" not in client.cookies
    assert post_login(site.client("10.0.0.8"), site.tokens["compliance"]).status_code == 303
    site.clock.now += 55
    assert post_login(client, site.tokens["compliance"]).status_code == 303


# -- the API reads bearer tokens only ------------------------------------------------------
def test_the_api_never_accepts_a_cookie(site: Site) -> None:
    """A signed-in browser's session cookie, or a cookie holding the API token, does not
    authenticate on /v1: 401 without a bearer token."""
    client = site.signed_in()
    client.cookies.set("rems_session", session_of(client), path="/")
    client.cookies.set("rems_token", site.tokens["compliance"], path="/")
    for path in ("/v1/due", "/v1/patients/PAT1/eligibility", "/v1/digest"):
        assert client.get(path).status_code == 401, path
    bearer = {"Authorization": f"Bearer {site.tokens['compliance']}"}
    assert client.get("/v1/due", headers=bearer).status_code == 200


def test_a_sign_in_form_over_4_kib_is_a_413_page_before_it_is_read(site: Site) -> None:
    """A sign-in form declaring more than 4 KiB, or sending it chunked, is answered with a 413
    page (HTML, `Connection: close`) and opens no session."""
    client = site.client()
    csrf = csrf_of(client.get("/ui/login").text)
    form = f"token={site.tokens['compliance']}&csrf={csrf}&next=/ui&pad={'x' * 4096}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    declared = client.post("/ui/login", content=form, headers=headers)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(form), 1000):
            yield form[start : start + 1000]

    chunked = client.post("/ui/login", content=chunks(), headers=headers)
    assert "content-length" not in chunked.request.headers
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["connection"] == "close"
        assert "too large" in response.text.lower()
    assert "rems_session" not in client.cookies
