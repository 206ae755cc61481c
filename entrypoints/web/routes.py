"""The compliance staff's and auditors' web pages (server-rendered, no build step).

- Signing in and out (`/ui/login`, `/ui/logout`): `signin.py`. Signed-out pages redirect (303)
  to the login page; any other role than compliance or auditor gets a 403 page.
- `GET /ui?patient_id=ID`: search, redirects to `GET /ui/patients/{ID}[?as_of=...]`, the
  patient page (eligibility, due, timeline, history, as-of picker);
  `GET /ui/patients/{ID}/export`: the inspection record (`rems export --format html`).
- `GET /ui/due[?on=DAY&sort=overdue|patient]`: the work queue.

The pages are left out of the OpenAPI document: they are for people, not for API clients.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from application.errors import InvalidCommand, NotFound
from application.queries import default_now, parse_as_of
from audit.record import render
from entrypoints.http.dependencies import api_state
from entrypoints.http.policy import READERS
from entrypoints.http.tokens import Principal
from entrypoints.web.layout import HEADERS, message_page, page, search_form
from entrypoints.web.patient import load_patient_view, render_patient
from entrypoints.web.queue import SORTS, render_queue
from entrypoints.web.signin import forbidden_role, web_principal
from entrypoints.web.signin import router as signin_router

MAX_PARAM = 64
HOME = "/ui"


def _reader(request: Request) -> Principal | Response:
    """The signed-in compliance or auditor principal, or the response to send instead."""
    principal = web_principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/ui/login?" + urlencode({"next": target}), status_code=303)
    if principal.role not in READERS:
        return forbidden_role(principal)
    return principal


def _as_of_text(text: str, zone: ZoneInfo) -> str:
    """A date-time from the picker has no offset: it is in the program's zone."""
    text = text.strip()
    if len(text) > len("YYYY-MM-DD"):
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            return text  # parse_as_of says what is wrong
        if instant.tzinfo is None:
            return instant.replace(tzinfo=zone).isoformat()
    return text


router = APIRouter()
"""The web pages; the catch-all page comes last."""
router.include_router(signin_router)


@router.get("/ui", include_in_schema=False)
def search(request: Request, patient_id: str | None = None) -> Response:
    who = _reader(request)
    if isinstance(who, Response):
        return who
    wanted = (patient_id or "").strip()
    if wanted and len(wanted) <= MAX_PARAM:
        return RedirectResponse(f"/ui/patients/{quote(wanted, safe='')}", status_code=303)
    problem = ""
    if patient_id is not None:
        problem = f'<p class="error">Type a program ID of at most {MAX_PARAM} characters.</p>'
    body = (
        '<header class="masthead"><div class="kicker">Search</div><h1>Find a patient</h1>'
        f"{problem}{search_form(wanted)}</header>"
        '<section><p class="note">Open a patient by program ID to see eligibility with the '
        "reasons, what is due, the timeline and the full history (with an as-of picker). "
        'The <a href="/ui/due">work queue</a> lists every patient with something due or '
        "overdue.</p></section>"
    )
    return page("Search", body, who, "search", 422 if problem else 200)


@router.get("/ui/patients/{patient_id}", include_in_schema=False)
def patient(request: Request, patient_id: str, as_of: str | None = None) -> Response:
    who = _reader(request)
    if isinstance(who, Response):
        return who
    ledger = api_state(request).ledger
    moment = None
    if as_of and as_of.strip():
        try:
            if len(as_of) > MAX_PARAM:
                raise InvalidCommand("as-of: too long.", field="as_of")
            moment = parse_as_of(_as_of_text(as_of, ledger.settings.timezone), ledger)
        except InvalidCommand as error:
            back = f"/ui/patients/{quote(patient_id, safe='')}"
            return message_page(
                422,
                "Invalid as-of",
                error.message,
                who,
                f'<p><a href="{escape(back)}">Show the record now</a></p>',
            )
    try:
        view = load_patient_view(ledger, api_state(request).views, patient_id, moment)
    except NotFound:
        return _unknown(patient_id, who)
    return render_patient(view, who)


@router.get("/ui/patients/{patient_id}/export", include_in_schema=False)
def export(request: Request, patient_id: str) -> Response:
    who = _reader(request)
    if isinstance(who, Response):
        return who
    try:
        content = render(api_state(request).ledger, patient_id, "html")
    except NotFound:
        return _unknown(patient_id, who)
    return HTMLResponse(content, headers=HEADERS)


@router.get("/ui/due", include_in_schema=False)
def due(request: Request, on: str | None = None, sort: str = "overdue") -> Response:
    who = _reader(request)
    if isinstance(who, Response):
        return who
    if sort not in SORTS:
        return message_page(422, "Invalid sort", "Sort by overdue or by patient.", who)
    ledger = api_state(request).ledger
    try:
        if on and len(on) > MAX_PARAM:
            raise InvalidCommand("on: too long.", field="on")
        moment = parse_as_of(on, ledger) if on else default_now(ledger)
    except InvalidCommand as error:
        return message_page(422, "Invalid day", error.message, who)
    queue = api_state(request).views.due(moment)
    return render_queue(queue, sort, on, who)


@router.get("/ui/{rest:path}", include_in_schema=False)
def elsewhere(request: Request, rest: str) -> Response:
    who = _reader(request)
    if isinstance(who, Response):
        return who
    return message_page(404, "No such page", "Use the search or the work queue.", who)


def _unknown(patient_id: str, who: Principal) -> HTMLResponse:
    return message_page(
        404,
        "Unknown patient",
        f"No patient {patient_id} is enrolled in the REMS. Check the program ID.",
        who,
        search_form(patient_id),
    )
