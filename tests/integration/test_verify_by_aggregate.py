"""`rems verify` reads the store one aggregate at a time, up to the log position it started
at (issue 13: memory flat; a decision and its claim appended meanwhile are read together)."""

from __future__ import annotations

from audit.aggregate_rows import aggregates_in_store
from audit.verify import verify
from tests.integration.test_export import exported  # noqa: F401  # the recorded program fixture
from tests.program import Program


def test_each_aggregate_comes_whole_in_log_order_up_to_the_stop_position(
    exported: Program,  # noqa: F811  # the fixture imported above
) -> None:
    """Every row up to the stop comes once, grouped by aggregate and in log order within it;
    rows after the stop (as if appended during the read) are left out."""
    ledger = exported.ledger
    end = ledger.notifications.end()
    stop = end - 3
    groups = list(aggregates_in_store(ledger, stop, page=7))
    positions = [row.id for group in groups for row in group]
    assert sorted(positions) == [p for p in range(1, end + 1) if p <= stop]
    for group in groups:
        assert [row.id for row in group] == sorted(row.id for row in group)
    owners = [getattr(group[0], "originator_id", None) for group in groups]
    assert len(owners) == len(set(owners)), "one group per aggregate"


def test_verify_counts_every_aggregate_and_event_as_before(exported: Program) -> None:  # noqa: F811
    """The aggregate-ordered read checks every row of an intact store and finds nothing."""
    ledger = exported.ledger
    report = verify(ledger)
    assert report.ok, report.problems
    assert report.events_checked == ledger.notifications.end()
    assert report.position == ledger.notifications.end()
