"""The export as one self-contained HTML page: inline CSS and SVG, no script, no external URL.

Rendered from the JSON record alone (`audit.record.build_record`). Every piece of text
from the ledger goes through `html.escape`; a Content-Security-Policy forbids the page from
loading anything at all, so it opens the same with or without a network. Enrollment fields
(PHI) appear only in the event table.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from rendering.record_style import STYLE
from rendering.timeline import render_timeline
from rendering.tree_head import tree_head_line, tree_head_section

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CATEGORIES = {
    "adult_female_reproductive_potential": "Adult female of reproductive potential",
    "adult_female_not_reproductive_potential": "Adult female not of reproductive potential",
    "female_child_reproductive_potential": "Female child of reproductive potential",
    "female_child_not_reproductive_potential": "Female child not of reproductive potential",
    "adult_male": "Adult male",
    "male_child": "Male child",
}
BOOKKEEPING = frozenset(
    {"type", "version", "occurred_at", "recorded_at", "actor", "event_id", "command_id"}
    | {"previous_hash", "hash", "inputs", "reasons", "ruleset_version"}
)
"""History fields shown in their own columns, or in the decisions section, not as details."""
GOOD_OUTCOMES = frozenset({"issued", "confirmed", "dispensed"})


def render_html(record: dict[str, Any]) -> str:
    """The whole page for one export record."""
    patient = escape(record["patient_id"])
    zone = ZoneInfo(record["program_timezone"])
    title = f"Timeline of REMS patient {record['patient_id']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>REMS inspection record: patient {patient}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        _masthead(record, zone),
        '<nav><a href="#timeline">Timeline</a><a href="#decisions">Decisions</a>'
        '<a href="#verification">Verification</a><a href="#tree-head">Tree head</a>'
        '<a href="#events">Event history</a></nav>',
        '<section id="timeline"><h2>Timeline</h2><p class="note">Each mark is placed at the '
        f"time the fact happened, in the program time zone ({escape(zone.key)}). Hover a mark "
        "for its date and details.</p>",
        render_timeline(record["history"], zone.key, title),
        "</section>",
        _decisions(record["decisions"], zone),
        _verification(record),
        tree_head_section(record),
        _events(record["history"], zone),
        f"<footer>rems export · {escape(record.get('format', ''))} · generated "
        f"{escape(record['generated_at'])} · this file is self-contained and loads nothing."
        "</footer></main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _when(text: str | None, zone: ZoneInfo, stacked: bool = False) -> str:
    """An instant in the program's zone to the second (the date above the time when
    `stacked`), with the exact stored value as tooltip."""
    if not text:
        return ""
    local = datetime.fromisoformat(text).astimezone(zone)
    day, clock = escape(local.strftime("%Y-%m-%d")), escape(local.strftime("%H:%M:%S %Z"))
    return f'<span title="{escape(text)}">{day}{"<br>" if stacked else " "}{clock}</span>'


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _verdict(verification: dict[str, Any]) -> tuple[str, str]:
    """The badge class and words of the verification result."""
    if verification["ok"]:
        scope = "record" if verification.get("scope") == "record" else "ledger"
        return "ok", f"✔ VERIFIED: {scope} intact"
    if verification["problems"]:
        return "bad", f"✘ VERIFICATION FAILED: {len(verification['problems'])} problem(s)"
    elsewhere = verification["problems_elsewhere"]
    return "warn", f"⚠ This record verified; {elsewhere} problem(s) elsewhere in the ledger"


def _masthead(record: dict[str, Any], zone: ZoneInfo) -> str:
    verification = record["verification"]
    badge, words = _verdict(verification)
    category = record["risk_category"]
    decisions = record["decisions"]
    different = sum(1 for d in decisions if not d["replay_same"])
    if not decisions:
        replayed = "no decisions"
    elif not different:
        replayed = f"{_count(len(decisions), 'decision')}, each replays to the same outcome"
    else:
        replayed = (
            f'{_count(len(decisions), "decision")}, <span class="replay different">{different} '
            "replay(s) DIFFER from the recorded outcome</span>"
        )
    facts = [
        (
            "Risk category (now)",
            f"{escape(CATEGORIES.get(category, category))} "
            f'<span class="meta">({escape(category)})</span>',
        ),
        ("Generated", _when(record["generated_at"], zone)),
        ("Program time zone", escape(zone.key)),
        ("Record", f"{_count(len(record['history']), 'event')} · {replayed}"),
        ("Tree head", tree_head_line(record.get("sth"), record.get("tree_head_check"))),
        (
            "Verification",
            f"{verification['events_checked']} stored events re-read up to log "
            f"position {verification['position']}",
        ),
        ("Ledger digest", f'<code class="digest">{escape(record["digest"])}</code>'),
    ]
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    return (
        '<header class="masthead"><div class="kicker">Lenalidomide REMS · FDA inspection '
        f"record</div><h1>Patient {escape(record['patient_id'])}"
        f'<span class="badge {badge}" id="verdict">{escape(words)}</span></h1>'
        f'<dl class="facts">{rows}</dl></header>'
    )


def _decisions(decisions: list[dict[str, Any]], zone: ZoneInfo) -> str:
    if not decisions:
        return '<section id="decisions"><h2>Decisions</h2><p>No decision recorded.</p></section>'
    return (
        f'<section id="decisions"><h2>Decisions ({len(decisions)})</h2><p class="note">Each '
        "decision as recorded, with the reasons it gave, the catalogue text of each rule, the "
        "inputs it read and the rule-set version it was made under; “replay” re-runs it now on "
        "the history as recorded just before it.</p>"
        + "".join(_decision(d, zone) for d in decisions)
        + "</section>"
    )


def _decision(decision: dict[str, Any], zone: ZoneInfo) -> str:
    outcome = decision["outcome"]
    state = "issued" if outcome in GOOD_OUTCOMES else "denied"
    replay = (
        '<span class="replay same">replay: same ✔</span>'
        if decision["replay_same"]
        else '<span class="replay different">replay: DIFFERENT ✘</span>'
    )
    reference = decision.get("reference")
    head = (
        f'<header><span class="outcome {state}">{escape(outcome.upper())}</span>'
        f"<h3>{escape(decision['type'])}</h3>"
        + (f'<span class="mono">{escape(reference)}</span>' if reference else "")
        + f'<span class="meta">v{decision["version"]} · {_when(decision["decided_at"], zone)} · '
        f"rule set {escape(decision['ruleset_version'])}</span>{replay}</header>"
    )
    if decision["reasons"]:
        rows = "".join(
            f"<tr><td>{escape(r['rule'])}</td><td>{escape(r['message'])}</td>"
            f'<td class="rule-text">{escape(r["rule_text"])}</td></tr>'
            for r in decision["reasons"]
        )
        reasons = (
            '<table class="reasons"><thead><tr><th>Rule</th><th>Reason as recorded</th>'
            f"<th>Rule text (catalogue)</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        reasons = '<p class="meta">No unmet rule: every block rule held.</p>'
    inputs = "".join(
        f'<dt>{escape(str(key))}</dt><dd class="mono">{escape(plain(value))}</dd>'
        for key, value in decision["inputs"].items()
    )
    anchor = f"decision-v{decision['version']}"
    return (
        f'<article class="decision {state}" id="{anchor}">{head}{reasons}'
        f'<dl class="inputs"><div class="inputs-title">Inputs read</div>{inputs}</dl></article>'
    )


def plain(value: Any) -> str:
    """A field's value as plain text: strings as they are, lists joined, objects as
    `key=value` pairs (empty ones left out), other scalars as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        pairs = ", ".join(f"{k}={plain(v)}" for k, v in value.items() if v is not None)
        return f"({pairs})"
    return orjson.dumps(value).decode()


def _verification(record: dict[str, Any]) -> str:
    verification = record["verification"]
    badge, words = _verdict(verification)
    what = (
        "this record rests on (the patient, its number claims, its prescribers and pharmacies: "
        if verification.get("scope") == "record"
        else "of the ledger ("
    )
    text = (
        f'<p><span class="badge {badge}">{escape(words)}</span></p><p>Every stored event {what}'
        f"{verification['events_checked']} events, {verification['aggregates']} "
        f"aggregates, up to log position {verification['position']}) was re-read: each hash "
        "recomputed from the event's content and checked against the chain of its aggregate. "
        "The digest below pins every aggregate's head at that position; compare it with the "
        f'published one.</p><p><code class="digest">{escape(record["digest"])}</code></p>'
    )
    problems = verification["problems"]
    if problems:
        rows = "".join(
            f"<tr><td>{escape(str(p.get('position')))}</td><td>{escape(str(p['kind']))}</td>"
            f"<td>{escape(str(p['message']))}</td></tr>"
            for p in problems
        )
        text += (
            '<table class="problems"><thead><tr><th>Position</th><th>Problem</th>'
            f"<th>Finding</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if verification["problems_elsewhere"]:
        text += (
            f"<p>{verification['problems_elsewhere']} further problem(s) concern other "
            "aggregates of the ledger; run <code>rems verify</code> for the full list.</p>"
        )
    return f'<section id="verification"><h2>Verification</h2>{text}</section>'


def _events(events: list[dict[str, Any]], zone: ZoneInfo) -> str:
    rows = "".join(_event_row(e, zone) for e in events)
    return (
        f'<section id="events"><h2>Event history ({len(events)})</h2><p class="note">Every '
        "event of the patient in recorded order, as stored (enrollment fields included). Times "
        f"in {escape(zone.key)}; hover a time for the exact stored value.</p>"
        '<table class="events"><thead><tr><th>v</th><th>Recorded at</th><th>Occurred at</th>'
        "<th>Event</th><th>Actor</th><th>Details</th><th>Hash</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _event_row(event: dict[str, Any], zone: ZoneInfo) -> str:
    details = [
        f'<span><span class="k">{escape(key)}:</span> {escape(plain(value))}</span>'
        for key, value in event.items()
        if key not in BOOKKEEPING and value is not None
    ]
    if "ruleset_version" in event:
        details.append(
            f'<span><a href="#decision-v{event["version"]}">see the decision above</a></span>'
        )
    digest = str(event.get("hash", ""))
    return (
        f"<tr><td>{event['version']}</td><td>{_when(event['recorded_at'], zone, True)}</td>"
        f"<td>{_when(event['occurred_at'], zone, True)}</td><td>{escape(event['type'])}</td>"
        f"<td>{escape(str(event.get('actor', '')))}</td>"
        f'<td class="details">{"".join(details)}</td>'
        f'<td class="mono" title="{escape(digest)}">{escape(digest[:12])}</td></tr>'
    )
