"""The web pages' shared layout: one stylesheet, the top bar with the nav and the signed-in
actor, small formatting helpers, and the message pages (403, 404, 422).

Every page is plain server-rendered HTML with inline CSS: no script, no external URL. A
Content-Security-Policy forbids loading anything at all, so the pages look the same with no
network. Every piece of text from the ledger or the request goes through `html.escape`.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse

from entrypoints.http.tokens import Principal
from entrypoints.web.sessions import SignedIn

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
"""Sent with every page: the pages hold PHI, so nothing is cached, framed or referred to
another site. (`same-origin`, not `no-referrer`: under `no-referrer` a browser posts the
pages' own forms with `Origin: null`, which the sign-in's Origin check must refuse.)"""

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#eef1f5;color:#1f2933;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:#1f4e79}
.topbar{background:#1f4e79;color:#fff}
.topbar .inner{max-width:1180px;margin:0 auto;padding:0 28px;display:flex;align-items:center;
gap:28px;min-height:52px;flex-wrap:wrap}
.brand{font-weight:700;font-size:16px;letter-spacing:.01em}
.brand small{font-weight:400;opacity:.8;margin-left:6px;font-size:12.5px}
.topbar nav{display:flex;gap:4px;flex:1}
.topbar nav a,.who a{color:#fff;text-decoration:none;padding:6px 12px;border-radius:5px}
.topbar nav a:hover,.who a:hover{background:rgba(255,255,255,.14)}
.topbar nav a.active{background:rgba(255,255,255,.22);font-weight:600}
.who{font-size:13px;opacity:.95}.who b{font-weight:600}
.who a{border:1px solid rgba(255,255,255,.5);margin-left:10px}
.who form{display:inline;margin-left:10px}
.who button{background:transparent;border:1px solid rgba(255,255,255,.5);padding:4px 12px}
main{max-width:1180px;margin:0 auto;padding:22px 28px 40px}
.masthead{background:#fff;border:1px solid #d9dde3;border-top:6px solid #1f4e79;
border-radius:8px;padding:18px 24px;margin-bottom:20px}
.kicker{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#616e7c}
h1{font-size:24px;margin:4px 0 12px;display:flex;align-items:center;gap:14px;flex-wrap:wrap}
h2{font-size:17px;margin:0 0 10px;color:#1f4e79}
section{background:#fff;border:1px solid #d9dde3;border-radius:8px;padding:16px 22px;
margin-bottom:20px;overflow-x:auto}
.cols{display:grid;grid-template-columns:3fr 2fr;gap:20px;margin-bottom:20px}
.cols>section{margin-bottom:0}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
.badge{display:inline-block;border-radius:999px;padding:4px 14px;font-size:13px;
font-weight:700;letter-spacing:.03em;border:2px solid}
.badge.ok{background:#e6f4ea;color:#1b5e20;border-color:#2e7d32}
.badge.warn{background:#fff4e5;color:#8a4b00;border-color:#ef8f00}
.badge.bad{background:#fdecea;color:#8e1b1b;border-color:#c62828}
.rule{display:inline-block;font-weight:700;font-size:12px;padding:1px 7px;border-radius:4px;
background:#e4e7eb;color:#1f2933;margin:0 4px 2px 0;font-family:ui-monospace,Menlo,monospace}
.rule.bad{background:#fdecea;color:#8e1b1b}
.tag{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:4px;
white-space:nowrap}
.tag.late{background:#fdecea;color:#8e1b1b}.tag.today{background:#fff4e5;color:#8a4b00}
.tag.later{background:#e6f4ea;color:#1b5e20}.tag.none{background:#f0f2f5;color:#616e7c}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}
.facts dt{color:#616e7c}.facts dd{margin:0}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:12.5px}
.note{color:#616e7c;font-size:12.5px;margin:0 0 10px}
.notice{background:#fff4e5;border:1px solid #ef8f00;border-radius:6px;padding:9px 14px;
margin:0 0 16px;color:#5c3300}
.error{background:#fdecea;border:1px solid #c62828;border-radius:6px;padding:9px 14px;
margin:0 0 14px;color:#8e1b1b}
.timeline{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:#3e4c59;background:#f5f7fa;border-bottom:2px solid
#d9dde3;padding:6px 8px;white-space:nowrap}
th a{text-decoration:none;color:#1f4e79}th a.sorted{font-weight:700;text-decoration:underline}
td{border-bottom:1px solid #e4e7eb;padding:6px 8px;vertical-align:top}
tbody tr:nth-child(even) td{background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th .hint{color:#9aa5b1;font-weight:400}
#history-table{min-width:980px}#history-table td.rules{min-width:190px;max-width:300px}
.nowrap{white-space:nowrap}
.details>span{display:inline-block;margin-right:14px;word-break:break-word}
.details .k{color:#616e7c}
details summary{cursor:pointer;color:#1f4e79;font-size:12.5px}
form.inline{display:flex;flex-wrap:wrap;align-items:center;gap:8px 10px;margin:0}
label{font-weight:600;color:#3e4c59}
input[type=text],input[type=password],input[type=date],input[type=datetime-local]{
font:inherit;padding:7px 10px;border:1px solid #9aa5b1;border-radius:5px;background:#fff;
min-width:220px}
input:focus{outline:2px solid #1f4e79;outline-offset:1px}
button{font:inherit;font-weight:600;padding:7px 16px;border-radius:5px;border:1px solid #1f4e79;
background:#1f4e79;color:#fff;cursor:pointer}
button:hover{background:#163a5c}
.button-link{padding:7px 12px;border:1px solid #9aa5b1;border-radius:5px;text-decoration:none;
color:#1f2933;background:#fff}
.card{max-width:460px;margin:60px auto;background:#fff;border:1px solid #d9dde3;
border-top:6px solid #1f4e79;border-radius:8px;padding:24px 28px}
.card form{display:grid;gap:10px}.card input{width:100%}
footer{color:#616e7c;font-size:12px;text-align:center;margin-top:8px}
"""

NAV = (("search", "/ui", "Search"), ("due", "/ui/due", "Work queue"))
ACTIVE = ' class="active" aria-current="page"'


def page(
    title: str,
    body: str,
    principal: Principal | None,
    active: str = "",
    status: int = 200,
) -> HTMLResponse:
    """A whole page: the top bar (with the nav and the signed-in actor when signed in)."""
    if principal is not None:
        links = "".join(
            f'<a href="{href}"{ACTIVE if key == active else ""}>{label}</a>'
            for key, href, label in NAV
        )
        out = logout_form(principal) if isinstance(principal, SignedIn) else ""
        actor = escape(principal.actor)
        who = f'<span class="who">Signed in as <b id="actor">{actor}</b>{out}</span>'

        bar = f"<nav>{links}</nav>{who}"
    else:
        bar = ""
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)} · REMS compliance</title><style>{STYLE}</style></head><body>"
        '<header class="topbar"><div class="inner"><span class="brand">Lenalidomide REMS'
        f"<small>compliance ledger</small></span>{bar}</div></header>"
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def logout_form(principal: SignedIn, label: str = "Log out") -> str:
    """The sign-out button: a POST carrying the session's CSRF value."""
    return (
        '<form method="post" action="/ui/logout" class="logout">'
        f'<input type="hidden" name="csrf" value="{escape(principal.csrf)}">'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def message_page(
    status: int, heading: str, message: str, principal: Principal | None, extra: str = ""
) -> HTMLResponse:
    """A page saying what went wrong (`extra` is trusted HTML, e.g. a form to try again)."""
    body = (
        f'<div class="card" id="message"><div class="kicker">Error {status}</div>'
        f"<h1>{escape(heading)}</h1><p>{escape(message)}</p>{extra}</div>"
    )
    return page(heading, body, principal, status=status)


def search_form(value: str = "") -> str:
    """The patient search form (GET /ui?patient_id=...)."""
    return (
        '<form class="inline" method="get" action="/ui" id="search">'
        '<label for="patient_id">Patient program ID</label>'
        f'<input type="text" id="patient_id" name="patient_id" value="{escape(value)}" '
        'required maxlength="64" autocomplete="off" placeholder="e.g. PAT1" autofocus>'
        "<button type=submit>Open patient</button></form>"
    )


def patient_href(patient_id: str, as_of: str | None = None) -> str:
    """The patient page's path (escape it once more when putting it in an attribute)."""
    href = f"/ui/patients/{quote(patient_id, safe='')}"
    return f"{href}?as_of={quote(as_of, safe='')}" if as_of else href


def when(text: str | None, zone: ZoneInfo, stacked: bool = False) -> str:
    """An instant in the program's zone, to the minute (the date above the time when
    `stacked`), with the exact stored value as tooltip."""
    if not text:
        return ""
    local = datetime.fromisoformat(text).astimezone(zone)
    day, clock = escape(local.strftime("%Y-%m-%d")), escape(local.strftime("%H:%M %Z"))
    return (
        f'<span class="nowrap" title="{escape(text)}">{day}{"<br>" if stacked else " "}'
        f"{clock}</span>"
    )


def day_tag(text: str | None, today: date) -> str:
    """A due date with its state against `today`: overdue, due today, or upcoming."""
    if not text:
        return '<span class="tag none">not applicable</span>'
    day = date.fromisoformat(text[:10])
    late = (today - day).days
    if late > 0:
        kind, words = "late", f"overdue {late} day{'s' if late != 1 else ''}"
    elif late == 0:
        kind, words = "today", "due today"
    else:
        kind, words = "later", f"in {-late} day{'s' if late != -1 else ''}"
    return (
        f'<span class="nowrap">{escape(day.isoformat())}</span> '
        f'<span class="tag {kind}">{words}</span>'
    )
