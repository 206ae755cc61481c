"""Signing in and out of the web pages.

- `GET /ui/login` shows the form with a fresh CSRF value, also set as the cookie `rems_login`
  (double submit: a page elsewhere can neither read the cookie nor set it, so it cannot post a
  form that matches). `POST /ui/login` (fields `token`, `csrf`, `next`) checks the Origin (when
  the browser sends one it must be this site), the CSRF pair, the throttle (5 failures a
  minute per client address, then 429 with Retry-After), then the token: a compliance or
  auditor token opens a server-side session (`sessions.py`) whose random ID is the HttpOnly,
  SameSite=Strict cookie `rems_session` scoped to `/ui` (Secure when served over https). The
  API token itself never goes into a cookie.
- `POST /ui/logout` (field `csrf`, the session's own) revokes the session and clears the
  cookie; `GET /ui/logout` shows the button. Any other role gets a 403 page.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from entrypoints.http.dependencies import ApiState, bearer_token
from entrypoints.http.limits import BodyTooLarge
from entrypoints.http.policy import READERS
from entrypoints.http.tokens import Principal
from entrypoints.web.layout import logout_form, message_page, page
from entrypoints.web.sessions import SESSION_SECONDS, SessionStore, SignedIn
from entrypoints.web.throttle import LoginThrottle

SESSION_COOKIE = "rems_session"
LOGIN_COOKIE = "rems_login"
COOKIE_PATH = "/ui"
LOGIN_PATH = "/ui/login"
FORM_MEDIA = "application/x-www-form-urlencoded"
HOME = "/ui"


class WebState:
    """What the pages share: the sessions, the sign-in throttle and the clock (seconds since
    the epoch; tests move it)."""

    def __init__(self, api: ApiState, clock: Callable[[], float] = time.time) -> None:
        self.sessions = SessionStore(api.database)
        self.throttle = LoginThrottle()
        self.clock = clock


def web_state(request: Request) -> WebState:
    """The pages' shared state."""
    state: WebState = request.app.state.web
    return state


def web_principal(request: Request) -> Principal | None:
    """The caller of a page: its session cookie, or a bearer token (a program reading a page)."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id:
        web = web_state(request)
        return web.sessions.principal(session_id, web.clock())
    token = bearer_token(request)
    api: ApiState = request.app.state.api
    return api.tokens.authenticate(token) if token else None


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


def same_origin(request: Request) -> bool:
    """False when the browser says the form was posted from another site (Origin, else
    Referer); a client that sends neither is judged by the CSRF value alone."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer")
    return referer is None or referer == own or referer.startswith(own + "/")


def forbidden_role(principal: Principal) -> HTMLResponse:
    """The 403 page of a prescriber or pharmacy token where only readers may be."""
    return message_page(
        403,
        "Not for this role",
        f"You are signed in as {principal.actor}. These pages are for compliance staff and "
        "auditors only; prescriber and pharmacy systems use the API.",
        None,
        '<p><a href="/ui/login">Sign in with another token</a></p>',
    )


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, path: str
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _delete_cookie(request: Request, response: Response, name: str, path: str) -> None:
    response.delete_cookie(
        name, path=path, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def _form(raw: bytes) -> dict[str, list[str]] | None:
    try:
        return parse_qs(raw.decode("utf-8", "replace"), max_num_fields=5)
    except ValueError:
        return None


def login_page(request: Request, next_path: str, error: str = "", status: int = 200) -> Response:
    """The sign-in form, with a fresh CSRF value in the form and in the `rems_login` cookie."""
    csrf = secrets.token_urlsafe(32)
    problem = f'<p class="error" id="login-error">{escape(error)}</p>' if error else ""
    body = (
        '<div class="card"><div class="kicker">Compliance staff and auditors</div>'
        f"<h1>Sign in</h1>{problem}"
        '<form method="post" action="/ui/login" id="login">'
        '<label for="token">API token</label>'
        '<input type="password" id="token" name="token" required autocomplete="off" '
        'maxlength="200" autofocus placeholder="rems_…">'
        f'<input type="hidden" name="next" value="{escape(safe_next(next_path))}">'
        f'<input type="hidden" name="csrf" value="{csrf}">'
        '<button type="submit">Sign in</button></form>'
        '<p class="note" style="margin-top:14px">Use a token made with <code>rems tokens '
        "create --role compliance</code> (or <code>--role auditor</code>). The server keeps "
        "a session for this browser; the token is not stored in it.</p></div>"
    )
    response = page("Sign in", body, None, status=status)
    _set_cookie(request, response, LOGIN_COOKIE, csrf, 3600, LOGIN_PATH)
    return response


def _matches(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


router = APIRouter()
"""Signing in and out."""


@router.get(LOGIN_PATH, include_in_schema=False)
def login_form(request: Request, next_path: Annotated[str, Query(alias="next")] = HOME) -> Response:
    return login_page(request, next_path)


@router.post(LOGIN_PATH, include_in_schema=False)
async def login(request: Request) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM_MEDIA:
        return login_page(request, HOME, "Send the sign-in form as a web form.", 415)
    try:
        raw = await request.body()
    except BodyTooLarge:
        return login_page(request, HOME, "The form is too large.", 413)
    fields = _form(raw)
    if fields is None:
        return login_page(request, HOME, "The form has too many fields.", 400)
    next_path = safe_next((fields.get("next") or [HOME])[0])
    csrf = (fields.get("csrf") or [""])[0]
    if not same_origin(request) or not _matches(csrf, request.cookies.get(LOGIN_COOKIE, "")):
        message = "The sign-in form expired or was sent from another page. Sign in again."
        return login_page(request, next_path, message, 403)
    web = web_state(request)
    client = request.client.host if request.client else "unknown"
    wait = web.throttle.retry_after(client, web.clock())
    if wait is not None:
        response = login_page(
            request, next_path, f"Too many failed sign-ins. Try again in {wait} s.", 429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    token = (fields.get("token") or [""])[0].strip()
    api: ApiState = request.app.state.api
    principal = await run_in_threadpool(api.tokens.authenticate, token) if token else None
    if principal is None:
        web.throttle.failed(client, web.clock())
        return login_page(request, next_path, "That token is not valid (or revoked).", 401)
    if principal.role not in READERS:
        return forbidden_role(principal)
    session_id = await run_in_threadpool(web.sessions.open, principal, web.clock())
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, session_id, SESSION_SECONDS, COOKIE_PATH)
    _delete_cookie(request, response, LOGIN_COOKIE, LOGIN_PATH)
    return response


@router.get("/ui/logout", include_in_schema=False)
def logout_button(request: Request) -> Response:
    who = web_principal(request)
    if not isinstance(who, SignedIn):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    body = f'<div class="card"><h1>Sign out</h1><p>{logout_form(who)}</p></div>'
    return page("Sign out", body, who)


@router.post("/ui/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    who = await run_in_threadpool(web_principal, request)
    if not isinstance(who, SignedIn):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    try:
        raw = await request.body()
    except BodyTooLarge:
        return message_page(413, "Too large", "The form is too large.", who)
    csrf = ((_form(raw) or {}).get("csrf") or [""])[0]
    if not same_origin(request) or not _matches(csrf, who.csrf):
        return message_page(
            403, "Not signed out", "The sign-out form was sent from another page.", who
        )
    web = web_state(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(web.sessions.revoke, session_id, web.clock())
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    _delete_cookie(request, response, SESSION_COOKIE, COOKIE_PATH)
    return response
