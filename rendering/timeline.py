"""The timeline picture of an export: one lane per kind of fact along a date axis, as inline SVG.

Drawn from the record's history entries alone (no ledger access), at the time each fact
happened (`occurred_at`) in the program's time zone. Every mark is a `<g class="mark mark-KIND">`
with a `<title>` tooltip; the kinds are listed in `KINDS` and shown in the legend. Marks that
would overlap in a lane are stacked on sub-rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from rendering.timeline_marks import KINDS, LANES, Mark, marks_of, shape

WIDTH = 1000
LEFT = 170
"""Room for the lane labels."""
RIGHT = 36
PLOT = WIDTH - LEFT - RIGHT
ROW = 14
"""Height of one sub-row of marks in a lane."""
PAD = 9
MAX_ROWS = 4
SPACING = 11
"""Marks closer than this (pixels) in one lane go on separate sub-rows."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GRID, INK, MUTED = "#d9dde3", "#1f2933", "#616e7c"


class Axis:
    """Whole months from the first fact's month to the month after the last fact."""

    def __init__(self, marks: list[Mark], tz: ZoneInfo) -> None:
        first = min(m.at for m in marks).date()
        last = max(m.at for m in marks).date()
        self.tz = tz
        self.months = [date(first.year, first.month, 1)]
        while self.months[-1] <= last:
            self.months.append(_next_month(self.months[-1]))
        self.start = self._instant(self.months[0])
        end = self._instant(self.months[-1]).astimezone(UTC)
        self.span = (end - self.start.astimezone(UTC)).total_seconds()

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=self.tz)

    def x(self, at: datetime | date) -> float:
        """The horizontal position of an instant (or the start of a day)."""
        instant = at if isinstance(at, datetime) else self._instant(at)
        # In UTC: aware datetimes sharing a zone subtract as wall clocks, ignoring DST.
        elapsed = instant.astimezone(UTC) - self.start.astimezone(UTC)
        return LEFT + PLOT * elapsed.total_seconds() / self.span

    def days(self) -> list[date]:
        """Every day on the axis."""
        day, end, out = self.months[0], self.months[-1], []
        while day < end:
            out.append(day)
            day = date.fromordinal(day.toordinal() + 1)
        return out


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _stack(marks: list[Mark], axis: Axis) -> list[tuple[Mark, float, int]]:
    """Each mark with its x and sub-row: the first row where it does not overlap."""
    placed: list[tuple[Mark, float, int]] = []
    row_ends: list[float] = []
    for mark in sorted(marks, key=lambda m: m.at):
        x = axis.x(mark.at)
        free = [i for i, end in enumerate(row_ends) if end <= x - SPACING]
        if free:
            row = free[0]
        elif len(row_ends) < MAX_ROWS:
            row_ends.append(x)
            row = len(row_ends) - 1
        else:
            row = min(range(len(row_ends)), key=lambda i: row_ends[i])
        row_ends[row] = x
        placed.append((mark, x, row))
    return placed


def render_timeline(events: list[dict[str, Any]], timezone: str, title: str) -> str:
    """The timeline of a patient's history entries as an `<svg>` element."""
    tz = ZoneInfo(timezone)
    marks = marks_of(events, tz)
    axis = Axis(marks, tz)
    lanes: list[str] = []
    body: list[str] = []
    y = 8
    for index, (lane, label) in enumerate(LANES):
        placed = _stack([m for m in marks if KINDS[m.kind][0] == lane], axis)
        rows = max([row + 1 for _, _, row in placed], default=1)
        height = 2 * PAD + rows * ROW
        fill = "#f5f7fa" if index % 2 == 0 else "#ffffff"
        lanes.append(
            f'<rect class="lane" x="{LEFT}" y="{y}" width="{PLOT}" height="{height}" '
            f'fill="{fill}"/>'
            f'<text x="{LEFT - 10}" y="{y + height / 2 + 4:.1f}" text-anchor="end" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        if lane == "authorizations":
            body.extend(_validity(events, axis, y + PAD + ROW / 2))
        for mark, x, row in placed:
            cy = y + PAD + ROW / 2 + row * ROW
            body.append(
                f'<g class="mark mark-{mark.kind}"><title>{escape(mark.tooltip)}</title>'
                f"{shape(mark.kind, x, cy)}</g>"
            )
        y += height
    grid, y = _axis(axis, top=8, bottom=y)
    legend, y = _legend(y + 18)
    return (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {y}" '
        f'width="100%" role="img" aria-labelledby="timeline-title" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        f'<title id="timeline-title">{escape(title)}</title>'
        f"{''.join(lanes)}{grid}{''.join(body)}{legend}</svg>"
    )


def _validity(events: list[dict[str, Any]], axis: Axis, cy: float) -> list[str]:
    """A pale bar from each authorization's issue to its expiry (A2)."""
    bars = []
    for event in events:
        if event["type"] == "AuthorizationIssued" and event.get("expires_at"):
            x1 = axis.x(datetime.fromisoformat(event["occurred_at"]))
            x2 = min(axis.x(datetime.fromisoformat(event["expires_at"])), LEFT + PLOT)
            bars.append(
                f'<line class="validity" x1="{x1:.1f}" y1="{cy:.1f}" x2="{x2:.1f}" '
                f'y2="{cy:.1f}" stroke="#a5d6a7" stroke-width="6" stroke-linecap="round"/>'
            )
    return bars


def _axis(axis: Axis, top: int, bottom: int) -> tuple[str, int]:
    """Month grid lines and labels, and day/week ticks when the span is short."""
    parts = [f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + PLOT}" y2="{bottom}" stroke="{INK}"/>']
    months = len(axis.months) - 1
    step = next((k for k in (1, 2, 3, 6, 12) if PLOT * k / months >= 64), 24)
    if months <= 6:
        for day in axis.days():
            x = axis.x(day)
            monday = day.weekday() == 0
            length = 6 if monday else 3
            if monday or months <= 2:
                parts.append(
                    f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + length}" '
                    f'stroke="{MUTED}"/>'
                )
            if monday and months <= 3 and day.day != 1:
                parts.append(
                    f'<text x="{x:.1f}" y="{bottom + 17}" text-anchor="middle" '
                    f'font-size="9.5" fill="{MUTED}">{day.day}</text>'
                )
    for index, month in enumerate(axis.months):
        x = axis.x(month)
        dash = "" if month.month == 1 else ' stroke-dasharray="3 3"'
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom + 9}" stroke="{GRID}"{dash}/>'
        )
        if index % step == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{bottom + 31}" text-anchor="middle" font-weight="600" '
                f'fill="{INK}">{MONTHS[month.month - 1]} {month.year}</text>'
            )
    return "".join(parts), bottom + 36


def _legend(top: int) -> tuple[str, int]:
    """Every kind's symbol and meaning, four to a row, plus the validity bar."""
    items = [(kind, label) for kind, (_, label) in KINDS.items()]
    items.append(("validity", "Authorization valid (issue to expiry)"))
    parts = []
    column = (WIDTH - 40) / 4
    for index, (kind, label) in enumerate(items):
        x = 28 + column * (index % 4)
        y = top + 20 * (index // 4)
        symbol = (
            f'<line x1="{x - 8}" y1="{y}" x2="{x + 8}" y2="{y}" stroke="#a5d6a7" '
            'stroke-width="6" stroke-linecap="round"/>'
            if kind == "validity"
            else shape(kind, x, y)
        )
        parts.append(
            f'<g class="legend-item">{symbol}<text x="{x + 14}" y="{y + 4}" fill="{INK}">'
            f"{escape(label)}</text></g>"
        )
    rows = (len(items) + 3) // 4
    return "".join(parts), top + 20 * rows
