"""A safety case as the safety consumer keeps it: what opened it, and the record a
pharmacovigilance team follows up (T7, T8, M2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime

from domain.base import Frozen


class CaseKind(StrEnum):
    """What opened a safety case."""

    PREGNANCY_REPORTED = "pregnancy_reported"
    POSITIVE_TEST = "positive_test"
    MENSTRUAL_ABNORMALITY = "menstrual_abnormality"


class SafetyCase(Frozen):
    """One suspected embryo-fetal exposure to follow up."""

    case_id: str
    """The event ID of the fact that opened the case."""
    patient: str
    """The patient's pseudonym (aggregate ID)."""
    kind: CaseKind
    """Pregnancy report, positive test or menstrual abnormality."""
    event_date: date
    """Suspected-on date, test collection date or the date the abnormality was noted."""
    recorded_at: AwareDatetime
    """When the ledger recorded the fact (the 24-hour clock starts here)."""
    prescriber_id: str | None
    """The prescriber of record when the fact was recorded (None: not yet known)."""
    last_dispense_at: AwareDatetime | None
    """The last dispense recorded before the fact (None: none)."""
    reported_to_medwatch: bool
    """FDA MedWatch (3500A) was told, by this report or a later one."""
    reported_to_rems: bool
    """The REMS was told, by this report or a later one."""
    follow_up_flag: str | None
    """Set by `flag_missing_reports`: which reports are missing after 24 hours."""
    flagged_at: AwareDatetime | None
    """The `now` of the check that set the flag."""


CASE_COLUMNS = (
    "case_id, aggregate_id, kind, event_date, recorded_at, prescriber_id, last_dispense_at, "
    "reported_to_medwatch, reported_to_rems, follow_up_flag, flagged_at"
)
"""The `safety_cases` columns, in the order `case_from_row` reads them."""


def case_from_row(row: tuple[Any, ...], opened: Callable[[str], str] = str) -> SafetyCase:
    """A case from its `safety_cases` row (columns in `CASE_COLUMNS` order); `opened` opens
    the sealed columns (dates and prescriber)."""
    (case_id, aggregate, kind, event_date, recorded_at, prescriber, dispensed) = row[:7]
    medwatch, rems, flag, flagged_at = row[7:]
    return SafetyCase(
        case_id=case_id,
        patient=aggregate,
        kind=CaseKind(kind),
        event_date=date.fromisoformat(opened(event_date)),
        recorded_at=datetime.fromisoformat(opened(recorded_at)),
        prescriber_id=opened(prescriber) if prescriber else None,
        last_dispense_at=datetime.fromisoformat(opened(dispensed)) if dispensed else None,
        reported_to_medwatch=bool(medwatch),
        reported_to_rems=bool(rems),
        follow_up_flag=flag,
        flagged_at=datetime.fromisoformat(flagged_at) if flagged_at else None,
    )
