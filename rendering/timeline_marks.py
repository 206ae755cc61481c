"""What the timeline shows: the lanes, the kinds of mark and their shapes, and which mark each
history entry becomes (from the entry alone; no free text in a tooltip)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LANES = (
    ("tests", "Pregnancy tests"),
    ("surveys", "Patient surveys"),
    ("authorizations", "Authorizations"),
    ("confirmations", "Dispense confirmations"),
    ("dispenses", "Dispenses"),
    ("reports", "Pregnancy reports"),
    ("other", "Enrollment, other facts"),
)

KINDS: dict[str, tuple[str, str]] = {
    "test-negative": ("tests", "Pregnancy test, negative"),
    "test-positive": ("tests", "Pregnancy test, POSITIVE"),
    "survey": ("surveys", "Patient survey, compliant"),
    "survey-noncompliant": ("surveys", "Patient survey, not compliant"),
    "auth-issued": ("authorizations", "Authorization issued"),
    "auth-denied": ("authorizations", "Authorization denied"),
    "confirmation": ("confirmations", "Dispense confirmation issued"),
    "confirmation-denied": ("confirmations", "Confirmation denied"),
    "dispense": ("dispenses", "Dispense recorded"),
    "dispense-denied": ("dispenses", "Dispense refused"),
    "pregnancy-report": ("reports", "Pregnancy reported (T7)"),
    "pregnancy-resolved": ("reports", "Pregnancy report resolved"),
    "enrollment": ("other", "Enrollment"),
    "other": ("other", "Other recorded fact"),
}
"""Mark kind -> (lane, legend label)."""


def shape(kind: str, x: float, y: float) -> str:
    """The symbol of a kind, centred on (x, y): shape and colour both tell kinds apart."""

    def cross(color: str) -> str:
        d = f"M{x - 5:.1f},{y - 5:.1f} l10,10 m0,-10 l-10,10"
        return f'<path d="{d}" stroke="{color}" stroke-width="2.6" stroke-linecap="round"/>'

    def diamond(fill: str, stroke: str) -> str:
        d = f"M{x:.1f},{y - 6:.1f} l6,6 l-6,6 l-6,-6 z"
        return f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'

    def square(fill: str) -> str:
        return (
            f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" fill="{fill}" '
            'stroke="#1565c0" stroke-width="1.8"/>'
        )

    def triangle(dy: int, fill: str, stroke: str) -> str:
        d = f"M{x:.1f},{y - 6 * dy:.1f} l6,{11 * dy} l-12,0 z"
        return f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'

    def circle(r: float, fill: str, stroke: str) -> str:
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{stroke}" '
            'stroke-width="2"/>'
        )

    shapes = {
        "test-negative": lambda: circle(4.5, "#ffffff", "#2e7d32"),
        "test-positive": lambda: circle(6, "#c62828", "#7f0000"),
        "survey": lambda: square("#1565c0"),
        "survey-noncompliant": lambda: square("#ffffff"),
        "auth-issued": lambda: triangle(1, "#2e7d32", "#1b5e20"),
        "auth-denied": lambda: cross("#c62828"),
        "confirmation": lambda: diamond("#6a1b9a", "#4a148c"),
        "confirmation-denied": lambda: cross("#6a1b9a"),
        "dispense": lambda: (
            f'<rect x="{x - 7:.1f}" y="{y - 4:.1f}" width="14" height="8" rx="4" '
            'fill="#00838f" stroke="#005662" stroke-width="1.2"/>'
        ),
        "dispense-denied": lambda: cross("#00838f"),
        "pregnancy-report": lambda: triangle(-1, "#e65100", "#bf360c"),
        "pregnancy-resolved": lambda: triangle(-1, "#ffffff", "#e65100"),
        "enrollment": lambda: diamond("#37474f", "#263238"),
        "other": lambda: circle(3, "#9aa5b1", "#7b8794"),
    }
    return shapes[kind]()


@dataclass(frozen=True)
class Mark:
    """One fact placed on the timeline."""

    kind: str
    at: datetime
    tooltip: str


def marks_of(events: Iterable[dict[str, Any]], tz: ZoneInfo) -> list[Mark]:
    """A mark for every history entry, at its `occurred_at` in the program's zone."""
    marks = []
    for event in events:
        at = datetime.fromisoformat(event["occurred_at"]).astimezone(tz)
        kind, detail = _classify(event)
        when = at.strftime("%Y-%m-%d %H:%M %Z")
        marks.append(Mark(kind, at, f"{when} · {event['type']} (v{event['version']}){detail}"))
    return marks


def _classify(event: dict[str, Any]) -> tuple[str, str]:
    """The mark kind of a history entry and a short detail for its tooltip (no free text)."""
    kind = event["type"]
    if kind == "PregnancyTestRecorded":
        positive = event.get("result") == "positive"
        detail = f": {event.get('result')}, {event.get('sensitivity_miu_per_ml')} mIU/mL"
        return ("test-positive" if positive else "test-negative"), detail
    if kind == "PatientSurveyCompleted":
        compliant = bool(event.get("compliant"))
        return ("survey" if compliant else "survey-noncompliant"), (
            ": compliant" if compliant else ": NOT compliant"
        )
    rules = ", ".join(r.get("rule", "?") for r in event.get("reasons") or [])
    simple = {
        "AuthorizationIssued": ("auth-issued", f": {event.get('authorization_number')}"),
        "AuthorizationDenied": ("auth-denied", f": unmet {rules}"),
        "DispenseConfirmed": ("confirmation", f": {event.get('confirmation_number')}"),
        "DispenseRecorded": ("dispense", f": {event.get('capsules')} capsules"),
        "PregnancyReported": ("pregnancy-report", f": suspected {event.get('suspected_on')}"),
        "PregnancyReportResolved": ("pregnancy-resolved", f": {event.get('resolution')}"),
        "PatientEnrolled": ("enrollment", f": enrollment {event.get('enrollment')}"),
    }
    if kind in simple:
        return simple[kind]
    if kind == "DispenseDenied":
        stage = event.get("stage")
        return ("dispense-denied" if stage == "dispense" else "confirmation-denied"), (
            f": {stage} refused, unmet {rules}"
        )
    return "other", ""
