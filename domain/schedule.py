"""What is due next for a patient (T4, T5, S3, A2, M1): the eligibility answer's `next_due`.

Tracked rules: they do not block by themselves; the work queues of compliance staff read them.
"""

from __future__ import annotations

from datetime import date

from domain.base import Frozen
from domain.calendar import add_days, add_months, day_of
from domain.categories import category_of
from domain.patient_state import (
    Authorization,
    AuthorizationStatus,
    PatientState,
)
from domain.rules.context import DecisionTime
from domain.rules.lapse import is_lapsed
from domain.rules.pregnancy_tests import last_sensitive_negative
from domain.rules.surveys import latest_survey
from domain.values import DEL_5Q_MDS_ICD10, Menstruation, RiskCategory


def therapy_started_on(patient: PatientState, at: DecisionTime) -> date | None:
    """The first dispense of the current enrollment (therapy start)."""
    dispenses = patient.dispenses_in_current_enrollment()
    return day_of(dispenses[0].dispensed_at, at.tz) if dispenses else None


def next_pregnancy_test(patient: PatientState, at: DecisionTime) -> date | None:
    """T4: weekly in the first 4 weeks of use; T5: every 4 weeks, or 2 with irregular menses."""
    if not category_of(patient, at.day, at.ruleset).is_frp:
        return None
    started = therapy_started_on(patient, at)
    last = last_sensitive_negative(patient, at)
    if started is None or last is None:
        return at.day
    last_day = day_of(last.collected_at, at.tz)
    rules = at.ruleset
    if last_day < add_days(started, 7 * rules.t4_weekly_weeks):
        return add_days(last_day, rules.t4_interval_days)
    irregular = patient.facts is not None and patient.facts.menstruation is Menstruation.IRREGULAR
    return add_days(
        last_day, rules.t5_irregular_interval_days if irregular else rules.t5_interval_days
    )


def next_survey(patient: PatientState, at: DecisionTime) -> date | None:
    """S3: the day the latest survey stops being current (S2: today, before the first one)."""
    category = category_of(patient, at.day, at.ruleset)
    survey = latest_survey(patient, at)
    if survey is None:
        return (
            None if not category.is_female and therapy_started_on(patient, at) is None else at.day
        )
    done = day_of(survey.completed_at, at.tz)
    if category is RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL:
        return add_months(done, at.ruleset.s3_fnrp_months)
    return add_days(done, at.ruleset.s3_monthly_days)


def next_cbc(patient: PatientState, at: DecisionTime) -> date | None:
    """M1 (del 5q MDS): weekly for the first 8 weeks of therapy, then at least monthly."""
    started = therapy_started_on(patient, at)
    if patient.diagnosis_icd10 != DEL_5Q_MDS_ICD10 or started is None:
        return None
    cbcs = [day_of(c, at.tz) for c in patient.cbcs if c <= at.now]
    last = max(cbcs, default=started)
    rules = at.ruleset
    if last < add_days(started, 7 * rules.m1_weekly_weeks):
        return add_days(last, rules.m1_weekly_interval_days)
    return add_months(last, rules.m1_monthly_interval_months)


def open_authorization_expiry(patient: PatientState) -> str | None:
    """When the patient's open supply (authorization not yet dispensed) expires."""
    open_ones = _undispensed(patient)
    return open_ones[-1].expires_at.isoformat() if open_ones else None


def next_due(patient: PatientState, at: DecisionTime) -> dict[str, str | None]:
    """The next date each tracked obligation falls due (ISO dates; None = not applicable)."""

    def iso(day: date | None) -> str | None:
        return day.isoformat() if day else None

    return {
        "pregnancy_test": iso(next_pregnancy_test(patient, at)),
        "patient_survey": iso(next_survey(patient, at)),
        "authorization_expires": open_authorization_expiry(patient),
        "cbc": iso(next_cbc(patient, at)),
    }


class DueItem(Frozen):
    """One obligation due or overdue on a day, for the compliance work queue."""

    rule: str
    """The rule behind it (T4, T5, S3, M1, M2, A2, X1; E8 for a review compliance owes)."""
    what: str
    """What to do, in words."""
    due_on: date
    days_overdue: int
    """0 when due that day; positive when late."""


def _item(rule: str, what: str, due_on: date | None, on: date) -> list[DueItem]:
    if due_on is None or due_on > on:
        return []
    return [DueItem(rule=rule, what=what, due_on=due_on, days_overdue=(on - due_on).days)]


def due_items(patient: PatientState, at: DecisionTime) -> list[DueItem]:
    """Everything due or overdue for the patient on the decision day."""
    on = at.day
    items: list[DueItem] = []
    for flag in patient.duplicate_flags:
        if flag.finding is None:
            items += _item(
                "E8",
                f"review a possible duplicate enrollment of {flag.other_patient_id} "
                "(review_possible_duplicate)",
                day_of(flag.flagged_at, at.tz),
                on,
            )
    for report in patient.pregnancy_reports:
        missing = [
            name
            for name, done in (
                ("FDA MedWatch", report.reported_to_medwatch),
                ("the REMS", report.reported_to_rems),
            )
            if not done
        ]
        if missing:
            items += _item(
                "M2",
                f"report the suspected pregnancy to {' and '.join(missing)}",
                report.suspected_on,
                on,
            )
    discontinued = patient.discontinued_on
    if discontinued is not None:
        returned = any(
            day_of(when, at.tz) >= discontinued for _, _, when in patient.capsule_returns
        )
        if not returned:
            items += _item("X1", "return unused capsules after the last dose", discontinued, on)
    for authorization in _undispensed(patient):
        expiry = day_of(authorization.expires_at, at.tz)
        if expiry <= add_days(on, at.ruleset.a2_expiry_notice_days):
            items += _item(
                "A2",
                f"authorization {authorization.number} expires "
                f"{expiry.isoformat()} before a dispense",
                min(expiry, on),
                on,
            )
    on_therapy = therapy_started_on(patient, at) is not None and (
        discontinued is None
        or any(day_of(d.dispensed_at, at.tz) > discontinued for d in patient.dispenses)
    )
    if not on_therapy or is_lapsed(patient, at):
        return items
    started = therapy_started_on(patient, at)
    assert started is not None
    weekly = on < add_days(started, 7 * at.ruleset.t4_weekly_weeks)
    items += _item("T4" if weekly else "T5", "pregnancy test", next_pregnancy_test(patient, at), on)
    items += _item("S3", "patient survey", next_survey(patient, at), on)
    items += _item("M1", "complete blood count", next_cbc(patient, at), on)
    return items


def _undispensed(patient: PatientState) -> list[Authorization]:
    dispensed_confirmations = {d.confirmation_number for d in patient.dispenses}
    used = {
        c.authorization_number for c in patient.confirmations if c.number in dispensed_confirmations
    }
    return [
        a
        for a in patient.authorizations
        if a.status is not AuthorizationStatus.VOIDED and a.number not in used
    ]
