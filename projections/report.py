"""Program-wide counts: authorizations issued and denied, by month, category and rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.base import LedgerEvent
from domain.calendar import day_of
from domain.decision_events import AuthorizationDenied, AuthorizationIssued
from domain.values import RiskCategory
from projections.view import Cursor

ANY_RULE = ""


class ReportProjection:
    """Table `report_authorizations (month, category, outcome, rule, count)`; a denial counts
    once with rule '' and once under each unmet rule."""

    event_types: tuple[type[LedgerEvent], ...] = (AuthorizationIssued, AuthorizationDenied)
    starts_from: tuple[type[Any], ...] = ()
    """Counts every decision: given them all, never a state."""
    stored_types: tuple[type[LedgerEvent], ...] = (AuthorizationIssued, AuthorizationDenied)
    """A decision counts from three members of its stored data (issue 13: a rebuild reads
    every decision, most of them before the patient's snapshot, which eligibility skips)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        """Counted since the last flush, not yet written."""

    def create_tables(self, cursor: Cursor) -> None:
        """Create the table if missing."""
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS report_authorizations (month TEXT NOT NULL, "
            "category TEXT NOT NULL, outcome TEXT NOT NULL, rule TEXT NOT NULL, "
            "count BIGINT NOT NULL, PRIMARY KEY (month, category, outcome, rule))"
        )

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop the table."""
        cursor.execute("DROP TABLE IF EXISTS report_authorizations")

    def start(self, aggregate_id: str, state: Any) -> None:
        """Never called: it starts from no state."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop the counts not yet written."""
        self._counts.clear()

    def process_batch(self, events: Sequence[LedgerEvent], cursor: Cursor) -> None:
        """Count the batch's authorization decisions (`flush` writes them)."""
        for event in events:
            if isinstance(event, AuthorizationIssued):
                self._count(event.occurred_at, event.risk_category.value, None)
            elif isinstance(event, AuthorizationDenied):
                rules = [reason.rule for reason in event.reasons]
                self._count(event.occurred_at, event.risk_category.value, rules)

    def take_stored(self, event_type: type[LedgerEvent], state: Mapping[str, Any]) -> bool:
        """Count one decision from its stored data, as `process_batch` counts the event:
        `occurred_at` (an ISO instant with its offset), `risk_category` and, of a denial, each
        reason's `rule`. False when one of them is not as the event's model writes it."""
        try:
            occurred_at = datetime.fromisoformat(state["occurred_at"])
            category = RiskCategory(state["risk_category"]).value
            issued = issubclass(event_type, AuthorizationIssued)
            rules = [] if issued else [reason["rule"] for reason in state["reasons"]]
        except (KeyError, TypeError, ValueError):
            return False
        if occurred_at.tzinfo is None or not all(type(rule) is str for rule in rules):
            return False
        self._count(occurred_at, category, None if issued else rules)
        return True

    def _count(self, occurred_at: datetime, category: str, rules: list[str] | None) -> None:
        """One decision: an issue (`rules` None), or a denial once with rule '' and once
        under each unmet rule."""
        month = day_of(occurred_at, self.tz).strftime("%Y-%m")
        counts = self._counts
        if rules is None:
            counts[(month, category, "issued", ANY_RULE)] += 1
            return
        counts[(month, category, "denied", ANY_RULE)] += 1
        for rule in rules:
            counts[(month, category, "denied", rule)] += 1

    def flush(self, cursor: Cursor) -> None:
        """One write per counter counted since the last flush."""
        counts, self._counts = self._counts, Counter()
        for key, count in counts.items():
            cursor.execute(
                "INSERT INTO report_authorizations (month, category, outcome, rule, count) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (month, category, outcome, rule) "
                "DO UPDATE SET count = report_authorizations.count + excluded.count",
                (*key, count),
            )


def monthly_report(cursor: Cursor) -> dict[str, Any]:
    """`{"months": [{"month", "issued", "denied", "issued_by_category", "denied_by_category",
    "denied_by_rule"}]}` from the table."""
    months: dict[str, dict[str, Any]] = {}
    rows = cursor.fetchall(
        "SELECT month, category, outcome, rule, count FROM report_authorizations "
        "ORDER BY month, outcome, category, rule"
    )
    for month, category, outcome, rule, count in rows:
        entry = months.setdefault(
            month,
            {
                "month": month,
                "issued": 0,
                "denied": 0,
                "issued_by_category": {},
                "denied_by_category": {},
                "denied_by_rule": {},
            },
        )
        if rule == ANY_RULE:
            entry[outcome] += count
            entry[f"{outcome}_by_category"][category] = count
        else:
            entry["denied_by_rule"][rule] = entry["denied_by_rule"].get(rule, 0) + count
    return {"months": list(months.values())}
