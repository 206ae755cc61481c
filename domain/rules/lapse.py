"""E6: no dispense for 12 consecutive months lapses the enrollment.

Reading (RULES.md): the enrollment lapses at the end of the day 12 calendar months after the
later of the enrollment and the last dispense of the current enrollment.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.calendar import add_months, day_of, end_of_day, within
from domain.patient_state import PatientState
from domain.reasons import Reason
from domain.rules.context import DecisionTime
from domain.ruleset import RuleSet


def lapses_at(patient: PatientState, tz: ZoneInfo, ruleset: RuleSet) -> datetime:
    """The last instant of the current enrollment unless a dispense renews it."""
    moments = [patient.enrollment.enrolled_at]
    moments += [d.dispensed_at for d in patient.dispenses_in_current_enrollment()]
    return end_of_day(add_months(day_of(max(moments), tz), ruleset.e6_months), tz)


def is_lapsed(patient: PatientState, at: DecisionTime) -> bool:
    """Whether the current enrollment has lapsed at the decision."""
    return not within(at.now, lapses_at(patient, at.tz, at.ruleset))


def e6_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """E6 when the enrollment has lapsed."""
    if not is_lapsed(patient, at):
        return []
    ended = lapses_at(patient, at.tz, at.ruleset)
    return [
        Reason(
            rule="E6",
            message=f"The enrollment lapsed on {ended.date().isoformat()} after "
            f"{at.ruleset.e6_months} months without a dispense; re-enroll the patient.",
        )
    ]
