"""The work-queue page: what is due or overdue per patient on a day, sortable by how overdue
(most overdue first, the default) or by patient ID."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

from domain.catalogue import RULES
from entrypoints.http.tokens import Principal
from entrypoints.web.layout import page, patient_href

SORTS = ("overdue", "patient")
SORTED = ' class="sorted"'


def sort_entries(entries: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Most overdue first (ties by patient), or by patient ID."""
    if sort == "patient":
        return sorted(entries, key=lambda e: e["patient_id"])
    return sorted(entries, key=lambda e: (-e["most_overdue_days"], e["patient_id"]))


def _href(sort: str, on: str | None) -> str:
    query = {"sort": sort} | ({"on": on} if on else {})
    return "/ui/due?" + urlencode(query)


def render_queue(
    queue: dict[str, Any], sort: str, on: str | None, principal: Principal
) -> HTMLResponse:
    """The whole work-queue page; `on` is the day asked for (None: today)."""
    day = queue["on"]
    entries = sort_entries(queue["patients"], sort)
    counts = "".join(
        f'<span class="rule" title="{escape(RULES[rule].text if rule in RULES else "")}">'
        f"{escape(rule)}: {n}</span>"
        for rule, n in sorted(queue["counts_by_rule"].items())
    )
    form = (
        '<form class="inline" method="get" action="/ui/due" id="on-form" style="margin-top:14px">'
        f'<label for="on">Day</label><input type="date" id="on" name="on" value="{escape(day)}" '
        f'required><input type="hidden" name="sort" value="{escape(sort)}">'
        '<button type="submit">Show</button>'
        f'<a class="button-link" href="{escape(_href(sort, None))}">Today</a></form>'
    )
    noun = "patient" if len(entries) == 1 else "patients"
    head = (
        '<header class="masthead"><div class="kicker">Work queue</div>'
        f'<h1><span>Due on <span id="queue-day">{escape(day)}</span></span></h1><dl class="facts">'
        f"<dt>Patients</dt><dd>{len(entries)} {noun} with something due or overdue</dd>"
        f"<dt>By rule</dt><dd>{counts or '—'}</dd></dl>{form}</header>"
    )
    return page(f"Work queue {day}", head + _table(entries, sort, on, day), principal, "due")


def _table(entries: list[dict[str, Any]], sort: str, on: str | None, day: str) -> str:
    if not entries:
        return f'<section id="queue"><p>Nothing is due or overdue on {escape(day)}.</p></section>'

    def header(key: str, label: str, arrow: str) -> str:
        current = sort == key
        mark = f" {arrow}" if current else ' <span class="hint">⇅</span>'
        return (
            f'<a href="{escape(_href(key, on))}" id="sort-{key}"'
            f'{SORTED if current else ""} title="Sort by {label.lower()}">'
            f"{label}{mark}</a>"
        )

    rows = "".join(_row(e) for e in entries)
    return (
        '<section id="queue"><p class="note">Click a column heading to sort; click a patient to '
        'open the record.</p><table id="queue-table"><thead><tr>'
        f"<th>{header('patient', 'Patient', '▲')}</th><th>Prescriber</th>"
        f'<th class="num">{header("overdue", "Most overdue", "▼")}</th><th>Due items</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _row(entry: dict[str, Any]) -> str:
    patient = entry["patient_id"]
    most = entry["most_overdue_days"]
    overdue = (
        '<span class="tag today">due today</span>'
        if most == 0
        else f'<span class="tag late">{most} day{"s" if most != 1 else ""}</span>'
    )
    items = "".join(
        f'<div><span class="rule">{escape(i["rule"])}</span>{escape(i["what"])} '
        f'<span class="note">{_when_due(i)}</span></div>'
        for i in entry["items"]
    )
    return (
        f'<tr class="queue-row" data-patient="{escape(patient)}" data-overdue="{most}">'
        f'<td><a href="{escape(patient_href(patient))}">{escape(patient)}</a></td>'
        f"<td>{escape(entry['prescriber_id'])}</td>"
        f'<td class="num">{overdue}</td><td>{items}</td></tr>'
    )


def _when_due(item: dict[str, Any]) -> str:
    late = item["days_overdue"]
    suffix = f", {late} day{'s' if late != 1 else ''} late" if late else ""
    return f"due {escape(item['due_on'])}{suffix}"
