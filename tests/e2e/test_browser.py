"""The web pages in a real headless browser (issue 6, point 3): Debian's Chromium driven by
Playwright, against `rems`'s API served by uvicorn on 127.0.0.1 over a small program.

A compliance user types the token into the sign-in form, searches a patient, reads the verdict
and an unmet rule, sees the SVG timeline, moves the as-of picker back (a later event leaves the
history), opens the work queue and sorts it by clicking, and signs out. The browser never asks
for anything but the server. The patient page's screenshot is kept as an artifact in
`artifacts/screenshots/patient-page.png` (and under the test's tmp_path).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.conftest import make_ledger
from tests.e2e.test_web_pages import build_program, make_site

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "patient-page.png"


@dataclass(frozen=True)
class Served:
    """The running server's address and a compliance token."""

    base: str
    token: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """uvicorn in a background thread on a free port, over a ledger on a SQLite file."""
    ledger = make_ledger(f"sqlite:///{tmp_path / 'rems.db'}")
    build_program(ledger)
    app, tokens = make_site(ledger)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not answer /healthz"
        time.sleep(0.05)
    try:
        yield Served(base, tokens["compliance"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.api.close()


def test_a_compliance_user_works_through_the_pages(served: Served, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install)")
    from playwright.sync_api import sync_playwright

    base = served.base
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            asked: list[str] = []
            page.on("request", lambda request: asked.append(request.url))
            blocked: list[str] = []
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
            )

            # Signed out: the search page sends the browser to the sign-in form.
            page.goto(f"{base}/ui")
            assert page.url.startswith(f"{base}/ui/login")
            page.locator("#token").press_sequentially(served.token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/ui")
            assert page.locator("#actor").inner_text() == "compliance:staff-1"

            # Search a patient.
            page.locator("#patient_id").fill("PAT1")
            page.locator("#patient_id").press("Enter")
            page.wait_for_url(f"{base}/ui/patients/PAT1")
            assert page.locator("#verdict").inner_text() == "NOT ELIGIBLE"
            assert page.locator("#reasons .rule").first.inner_text() == "T6"
            assert "last negative pregnancy test" in page.locator("#reasons").inner_text()
            timeline = page.locator("svg.timeline")
            assert timeline.is_visible()
            assert timeline.bounding_box()["height"] > 150  # type: ignore[index]  # the element is on the page
            assert page.locator("svg.timeline g.mark").count() == 10
            assert page.locator("#history-table tbody tr").count() == 10
            tmp_shot = tmp_path / "patient-page.png"
            page.screenshot(path=str(tmp_shot), full_page=True)
            ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_shot, ARTIFACT)
            assert tmp_shot.stat().st_size > 10_000

            # The as-of picker: on 2026-03-20 the 2026-04-12 denial was not recorded yet.
            page.locator("#as_of").fill("2026-03-20T12:00:00")
            page.get_by_role("button", name="Show as of").click()
            page.wait_for_url("**/ui/patients/PAT1?as_of=*")
            assert "as_of=2026-03-20T12%3A00" in page.url  # Chromium drops ":00" seconds
            assert page.locator("#as-of-notice").is_visible()
            assert page.locator("#history-table tbody tr").count() == 9
            assert page.locator('tr[data-type="AuthorizationDenied"]').count() == 0
            assert page.locator("#as_of").input_value().startswith("2026-03-20T12:00")

            # The work queue, most overdue first; sorted by patient with a click, and back.
            page.get_by_role("link", name="Work queue").click()
            page.wait_for_url(f"{base}/ui/due")
            rows = page.locator("tr.queue-row")

            def order() -> list[str]:
                return [rows.nth(i).get_attribute("data-patient") or "" for i in range(3)]

            assert rows.count() == 3
            assert order() == ["PAT1", "PAT3", "PAT2"]
            page.locator("#sort-patient").click()
            page.wait_for_url("**/ui/due?sort=patient")
            assert order() == ["PAT1", "PAT2", "PAT3"]
            page.locator("#sort-overdue").click()
            page.wait_for_url("**/ui/due?sort=overdue")
            assert order() == ["PAT1", "PAT3", "PAT2"]
            page.get_by_role("link", name="PAT3", exact=True).click()
            page.wait_for_url(f"{base}/ui/patients/PAT3")
            assert page.locator("#patient-id").inner_text() == "PAT3"

            # Sign out: the cookie is gone, the pages send the browser back to the form.
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{base}/ui/login")
            page.goto(f"{base}/ui/due")
            assert page.url.startswith(f"{base}/ui/login?next=")
            assert not [c for c in page.context.cookies() if c["name"] == "rems_session"]
        finally:
            browser.close()
    assert asked
    assert all(url.startswith(f"{base}/") or url.startswith("data:") for url in asked), asked
    assert not blocked, blocked
