"""`rems verify` also checks the read models against the events (they answer eligibility and
the work queue, so an edited row changes answers while every hash still holds).

The stored read models are caught up, then the same projections are built afresh from the log
up to the same position in a scratch database; every row that differs, is missing or is extra
is a problem naming its table and aggregate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from application.views import Views
from audit.findings import Problem, ProblemKind

if TYPE_CHECKING:
    from application.ledger import Ledger

SCRATCH = "sqlite:///:memory:"


def check_read_models(ledger: Ledger) -> list[Problem]:
    """Every difference between the stored read models and a fresh build from the events."""
    try:
        with Views(ledger) as stored:
            stored.runner.catch_up()
            position = stored.runner.position()
            held = stored.contents()
    # A hand-edited row may not even decode: that is a finding, not a crash.
    except Exception as error:
        return [_problem(None, f"the read models cannot be read back: {error}")]
    try:
        with Views(ledger, SCRATCH, stop=position) as fresh:
            fresh.runner.catch_up()
            expected = fresh.contents()
    # Damaged events are reported by the event checks; the rebuild then says why it stopped.
    except Exception as error:
        return [_problem(None, f"the read models cannot be rebuilt from the events: {error}")]
    problems = []
    for table, rows in expected.items():
        found = held.get(table, {})
        for key in sorted(set(rows) | set(found)):
            if rows.get(key) == found.get(key):
                continue
            what = "is missing" if key not in found else "is extra" if key not in rows else ""
            problems.append(
                _problem(
                    _uuid(key),
                    f"read model {table}: the row of {key} "
                    f"{what or 'differs from what its events give'} (up to log position "
                    f"{position}); run `rems projections rebuild` after investigating.",
                )
            )
    return problems


def _uuid(key: str) -> UUID | None:
    try:
        return UUID(key)
    except ValueError:
        return None


def _problem(aggregate: UUID | None, message: str) -> Problem:
    return Problem(
        aggregate_id=aggregate,
        version=None,
        position=None,
        kind=ProblemKind.READ_MODEL_MISMATCH,
        message=message,
    )
