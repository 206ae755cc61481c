"""The compliance staff's and auditors' web pages (server-rendered, no build step).

- `GET /ui/login`, `POST /ui/login` (form field `token`): a compliance or auditor API token is
  checked and kept in an HttpOnly, SameSite=Strict cookie `rems_token` scoped to `/ui`;
  `GET /ui/logout` clears it. Signed-out pages redirect (303) to the login page; any other
  role gets a 403 page.
- `GET /ui?patient_id=ID`: search, redirects to `GET /ui/patients/{ID}[?as_of=...]`, the
  patient page (eligibility, due, timeline, history, as-of picker);
  `GET /ui/patients/{ID}/export`: the inspection record (`rems export --format html`).
- `GET /ui/due[?on=DAY&sort=overdue|patient]`: the work queue.

The pages are left out of the OpenAPI document: they are for people, not for API clients.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated
from urllib.parse import parse_qs, quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from application.errors import InvalidCommand, NotFound
from application.queries import default_now, parse_as_of
from audit.record import render
from entrypoints.http.dependencies import api_state, principal_of
from entrypoints.http.policy import READERS
from entrypoints.http.tokens import Principal
from entrypoints.web.layout import HEADERS, message_page, page, search_form
from entrypoints.web.patient import load_patient_view, render_patient
from entrypoints.web.queue import SORTS, render_queue

COOKIE = "rems_token"
COOKIE_PATH = "/ui"
COOKIE_MAX_AGE = 12 * 3600
"""A working day: after that, sign in again."""
MAX_FORM_BYTES = 4096
MAX_PARAM = 64
FORM_MEDIA = "application/x-www-form-urlencoded"
HOME = "/ui"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this site under /ui, never elsewhere."""
    if (
        not target
        or not (target == HOME or target.startswith(("/ui/", "/ui?")))
        or target.startswith(("/ui/login", "/ui/logout"))
        or any(c in target for c in "\\\r\n\t ")
    ):
        return HOME
    return target


def _reader(request: Request) -> Principal | Response:
    """The signed-in compliance or auditor principal, or the response to send instead."""
    principal = principal_of(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/ui/login?" + urlencode({"next": target}), status_code=303)
    if principal.role not in READERS:
        return _forbidden(principal)
    return principal


def _forbidden(principal: Principal) -> HTMLResponse:
    return message_page(
        403,
        "Not for this role",
        f"You are signed in as {principal.actor}. These pages are for compliance staff and "
        "auditors only; prescriber and pharmacy systems use the API.",
        None,
        '<p><a href="/ui/logout">Sign in with another token</a></p>',
    )


def _login_page(next_path: str, error: str = "", status: int = 200) -> HTMLResponse:
    problem = f'<p class="error" id="login-error">{escape(error)}</p>' if error else ""
    body = (
        '<div class="card"><div class="kicker">Compliance staff and auditors</div>'
        f"<h1>Sign in</h1>{problem}"
        '<form method="post" action="/ui/login" id="login">'
        '<label for="token">API token</label>'
        '<input type="password" id="token" name="token" required autocomplete="off" '
        'maxlength="200" autofocus placeholder="rems_…">'
        f'<input type="hidden" name="next" value="{escape(safe_next(next_path))}">'
        '<button type="submit">Sign in</button></form>'
        '<p class="note" style="margin-top:14px">Use a token made with <code>rems tokens '
        "create --role compliance</code> (or <code>--role auditor</code>). It is kept in a "
        "cookie this browser sends only to these pages.</p></div>"
    )
    return page("Sign in", body, None, status=status)


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


@router.get("/ui/login", include_in_schema=False)
def login_form(next_path: Annotated[str, Query(alias="next")] = HOME) -> Response:
    return _login_page(next_path)


@router.post("/ui/login", include_in_schema=False)
async def login(request: Request) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM_MEDIA:
        return _login_page(HOME, "Send the sign-in form as a web form.", 415)
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return _login_page(HOME, "The form is too large.", 413)
    try:
        fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=5)
    except ValueError:
        return _login_page(HOME, "The form has too many fields.", 400)
    token = (fields.get("token") or [""])[0].strip()
    next_path = safe_next((fields.get("next") or [HOME])[0])
    state = api_state(request)
    principal = await run_in_threadpool(state.tokens.authenticate, token) if token else None
    if principal is None:
        return _login_page(next_path, "That token is not valid (or has been revoked).", 401)
    if principal.role not in READERS:
        return _forbidden(principal)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/ui/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


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
