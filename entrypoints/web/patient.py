"""The patient page: eligibility with reasons, what is due, the timeline and the full history,
now or as of an instant (then only what the ledger had recorded by that instant)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse

from domain.calendar import day_of
from domain.catalogue import RULES
from entrypoints.http.tokens import Principal
from entrypoints.web.layout import day_tag, page, patient_href, when
from entrypoints.web.patient_view import PatientView, load_patient_view
from rendering.record_html import BOOKKEEPING, CATEGORIES, plain
from rendering.timeline import render_timeline

__all__ = ["PatientView", "load_patient_view", "render_patient"]

NEXT_DUE = (
    ("pregnancy_test", "Pregnancy test"),
    ("patient_survey", "Patient survey"),
    ("authorization_expires", "Open authorization expires"),
    ("cbc", "Complete blood count"),
)


def render_patient(view: PatientView, principal: Principal) -> HTMLResponse:
    """The whole patient page."""
    body = [_masthead(view)]
    if view.as_of is not None:
        hidden = f"{view.hidden} event{'s' if view.hidden != 1 else ''} recorded later"
        body.append(
            f'<p class="notice" id="as-of-notice">Showing the record as of '
            f"<b>{when(view.as_of.isoformat(), view.zone)}</b>: only what the ledger had "
            f"recorded by then ({hidden} hidden). "
            f'<a href="{escape(patient_href(view.patient_id))}">Back to now</a></p>'
        )
    body.append(f'<div class="cols">{_eligibility(view)}{_due(view)}</div>')
    body.append(_timeline(view))
    body.append(_history(view))
    return page(f"Patient {view.patient_id}", "".join(body), principal, active="search")


def _masthead(view: PatientView) -> str:
    answer = view.answer
    if answer is None:
        badge = '<span class="badge warn" id="verdict">NOT ENROLLED YET</span>'
        category = "—"
    else:
        ok = answer["eligible"]
        words = "ELIGIBLE" if ok else "NOT ELIGIBLE"
        badge = f'<span class="badge {"ok" if ok else "bad"}" id="verdict">{words}</span>'
        code = answer["risk_category"]
        category = (
            f"{escape(CATEGORIES.get(code, code))} <span class='note'>({escape(code)})</span>"
        )
    viewing = (
        f"now ({when(view.now.isoformat(), view.zone)})"
        if view.as_of is None
        else f"as of {when(view.as_of.isoformat(), view.zone)}"
    )
    facts = [
        ("Risk category", category),
        ("Prescriber of record", escape(view.prescriber_id or "—")),
        ("Showing", viewing),
        ("Events", f"{len(view.events)} recorded"),
        ("Tree head", _seal(view.seal)),
    ]
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    action = escape(patient_href(view.patient_id))
    value = (view.as_of or view.now).astimezone(view.zone).strftime("%Y-%m-%dT%H:%M:%S")
    picker = (
        f'<form class="inline" method="get" action="{action}" id="as-of-form" '
        'style="margin-top:14px">'
        f'<label for="as_of">As of ({escape(view.zone.key)} time)</label>'
        f'<input type="datetime-local" step="1" id="as_of" name="as_of" value="{value}" required>'
        '<button type="submit">Show as of</button>'
        f'<a class="button-link" href="{action}">Now</a>'
        f'<a class="button-link" href="{action}/export">Inspection record</a></form>'
    )
    return (
        '<header class="masthead"><div class="kicker">Patient</div>'
        f'<h1><span id="patient-id">{escape(view.patient_id)}</span>{badge}</h1>'
        f'<dl class="facts">{rows}</dl>{picker}</header>'
    )


def _seal(seal: dict[str, Any] | None) -> str:
    """`verified against tree head N, signed by key K`, or why not (AUDIT-FORMAT.md §6)."""
    if seal is None:
        return "not verified: the ledger has no signing key (REMS_SIGNING_KEY_FILE)"
    head, key = seal["tree_size"], escape(seal["key_id"][:16])
    if seal["problems"]:
        count = len(seal["problems"])
        return (
            f'<span class="badge bad" id="seal">NOT verified against tree head {head}: '
            f"{count} problem(s)</span> (key <code>{key}</code>)"
        )
    return f'<span id="seal">verified against tree head {head}, signed by key {key}</span>'


def _eligibility(view: PatientView) -> str:
    answer = view.answer
    if answer is None:
        return (
            '<section id="eligibility"><h2>Eligibility</h2><p>The patient was not yet '
            "enrolled at that instant: nothing to judge.</p></section>"
        )
    moment = when(answer["as_of"], view.zone)
    lead = (
        f'<p class="note">Would an authorization (28 days, no refills, electronic, by the '
        f"prescriber of record) be issued at {moment}? Judged on what was recorded by then.</p>"
    )
    if answer["reasons"]:
        rows = "".join(
            f'<tr><td><span class="rule bad">{escape(r["rule"])}</span></td>'
            f"<td>{escape(r['message'])}</td>"
            f'<td class="note">{escape(_rule_text(r["rule"]))}</td></tr>'
            for r in answer["reasons"]
        )
        reasons = (
            '<table id="reasons"><thead><tr><th>Rule</th><th>Unmet: what is missing</th>'
            f"<th>Rule (catalogue)</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        reasons = '<p id="reasons">Every blocking rule holds: an authorization would be issued.</p>'
    today = day_of(view.now, view.zone)
    items = []
    for key, label in NEXT_DUE:
        value = answer["next_due"].get(key)
        shown = when(value, view.zone) if key == "authorization_expires" and value else None
        items.append(f"<dt>{label}</dt><dd>{shown or day_tag(value, today)}</dd>")
    kind = "initial" if answer["initial"] else "subsequent"
    return (
        f'<section id="eligibility"><h2>Eligibility ({kind} authorization)</h2>{lead}{reasons}'
        f'<h2 style="margin-top:16px">Next due</h2><dl class="facts" id="next-due">'
        f"{''.join(items)}</dl></section>"
    )


def _rule_text(rule: str) -> str:
    found = RULES.get(rule)
    return found.text if found else ""


def _due(view: PatientView) -> str:
    day = day_of(view.now, view.zone).isoformat()
    if not view.due:
        table = f"<p>Nothing is due or overdue on {escape(day)}.</p>"
    else:
        rows = "".join(
            f'<tr><td><span class="rule">{escape(i.rule)}</span></td><td>{escape(i.what)}</td>'
            f'<td class="nowrap">{escape(i.due_on.isoformat())}</td>'
            f'<td class="num">{_overdue(i.days_overdue)}</td></tr>'
            for i in view.due
        )
        table = (
            "<table><thead><tr><th>Rule</th><th>What</th><th>Due on</th><th>Overdue</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
    return (
        f'<section id="due"><h2>Due on {escape(day)}</h2><p class="note">Tracked obligations '
        f"due or overdue that day (they do not block by themselves).</p>{table}</section>"
    )


def _overdue(days: int) -> str:
    if days == 0:
        return '<span class="tag today">due today</span>'
    return f'<span class="tag late">{days} day{"s" if days != 1 else ""}</span>'


def _timeline(view: PatientView) -> str:
    if not view.events:
        picture = "<p>No fact recorded by then.</p>"
    else:
        title = f"Timeline of REMS patient {view.patient_id}"
        picture = render_timeline(view.events, view.zone.key, title)
    return (
        '<section id="timeline"><h2>Timeline</h2><p class="note">Tests, surveys, '
        "authorizations, confirmations and dispenses at the time each happened, in "
        f"{escape(view.zone.key)}. Hover a mark for its details.</p>{picture}</section>"
    )


def _history(view: PatientView) -> str:
    rows = "".join(_row(view, e) for e in view.events)
    return (
        f'<section id="history"><h2>History ({len(view.events)} events)</h2><p class="note">'
        "Every event in recorded order. Click a recorded time to see the record as of that "
        "moment; hover a time for the exact stored value.</p>"
        '<table id="history-table"><thead><tr><th>v</th><th>Recorded at</th><th>Occurred at'
        "</th><th>Event</th><th>Actor</th><th>Rules</th><th>Details</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _row(view: PatientView, event: dict[str, Any]) -> str:
    recorded = event["recorded_at"]
    link = escape(patient_href(view.patient_id, recorded))
    details = [
        f'<span><span class="k">{escape(key)}:</span> {escape(plain(value))}</span>'
        for key, value in event.items()
        if key not in BOOKKEEPING and value not in (None, [], {}, "")
    ]
    if event.get("inputs"):
        details.append(
            f"<details><summary>inputs read</summary>{escape(plain(event['inputs']))}</details>"
        )
    return (
        f'<tr data-type="{escape(event["type"])}"><td>{event["version"]}</td>'
        f'<td><a href="{link}" title="Show the record as of {escape(recorded)}">'
        f"{_local(recorded, view.zone)}</a></td>"
        f"<td>{when(event['occurred_at'], view.zone, stacked=True)}</td>"
        f"<td>{escape(event['type'])}</td><td>{escape(str(event.get('actor', '')))}</td>"
        f'<td class="rules">{_decision(event)}</td><td class="details">{"".join(details)}</td></tr>'
    )


def _local(text: str, zone: ZoneInfo) -> str:
    local = datetime.fromisoformat(text).astimezone(zone)
    return f"{local:%Y-%m-%d}<br>{escape(local.strftime('%H:%M %Z'))}"


def _decision(event: dict[str, Any]) -> str:
    """The rules of a recorded decision: every unmet rule with its message, or that all held."""
    if "ruleset_version" not in event:
        return ""
    ruleset = f'<div class="note">rule set {escape(str(event["ruleset_version"]))}</div>'
    reasons = event.get("reasons") or []
    if not reasons:
        return f'<span class="tag later">all rules met</span>{ruleset}'
    return (
        "".join(
            f'<div><span class="rule bad" title="{escape(_rule_text(r.get("rule", "")))}">'
            f"{escape(str(r.get('rule', '?')))}</span>{escape(str(r.get('message', '')))}</div>"
            for r in reasons
        )
        + ruleset
    )
