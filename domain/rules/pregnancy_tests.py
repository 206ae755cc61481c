"""Pregnancy testing for females of reproductive potential (T1, T2, T3, T6, T7, T8).

Readings (RULES.md): T1 counts calendar days in the program's zone, both ends included; T2 is
24 hours between instants, inclusive; T6 accepts a test collected on or after the decision date
minus 7 days. An insensitive test is recorded but never counts, and T3 is listed beside the rule
it would otherwise have satisfied. Every positive test opens T7 whatever its sensitivity.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from domain.calendar import add_days, day_of
from domain.patient_state import PatientState, PregnancyTest
from domain.reasons import Reason
from domain.rules.context import DecisionTime
from domain.ruleset import RuleSet
from domain.values import PregnancyTestResult, Sex


def is_sensitive(test: PregnancyTest, ruleset: RuleSet) -> bool:
    """T3: the test's detection threshold is at most 50 mIU/mL."""
    return test.sensitivity_miu_per_ml <= ruleset.min_sensitivity_miu_per_ml


def _negatives(patient: PatientState, at: DecisionTime) -> list[PregnancyTest]:
    return [
        t
        for t in patient.tests
        if t.result is PregnancyTestResult.NEGATIVE and t.collected_at <= at.now
    ]


def _window_reasons(
    patient: PatientState,
    at: DecisionTime,
    in_window: Callable[[PregnancyTest], bool],
    rule: str,
    missing: str,
) -> list[Reason]:
    candidates = [t for t in _negatives(patient, at) if in_window(t)]
    if any(is_sensitive(t, at.ruleset) for t in candidates):
        return []
    reasons = [Reason(rule=rule, message=missing)]
    if candidates:
        reasons.append(
            Reason(
                rule="T3",
                message=f"A negative test in the {rule} window was less sensitive than "
                f"{at.ruleset.min_sensitivity_miu_per_ml:g} mIU/mL and does not count; repeat "
                "it with a sensitive test.",
            )
        )
    return reasons


def t1_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """T1: a negative test 10 to 14 calendar days before an initial prescription."""
    rs = at.ruleset
    first, last = add_days(at.day, -rs.t1_max_days), add_days(at.day, -rs.t1_min_days)
    return _window_reasons(
        patient,
        at,
        lambda t: first <= day_of(t.collected_at, at.tz) <= last,
        "T1",
        f"An initial prescription needs a negative pregnancy test collected {rs.t1_min_days} to "
        f"{rs.t1_max_days} days before it ({first.isoformat()} to {last.isoformat()}).",
    )


def t2_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """T2: a second negative test within the 24 hours before an initial prescription."""
    since = at.now - timedelta(hours=at.ruleset.t2_hours)
    return _window_reasons(
        patient,
        at,
        lambda t: since <= t.collected_at,
        "T2",
        f"An initial prescription needs a second negative pregnancy test collected within the "
        f"{at.ruleset.t2_hours} hours before it (since {since.isoformat()}), also with "
        "abstinence.",
    )


def t6_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """T6: the last negative test is at most 7 days old."""
    oldest = add_days(at.day, -at.ruleset.t6_days)
    return _window_reasons(
        patient,
        at,
        lambda t: day_of(t.collected_at, at.tz) >= oldest,
        "T6",
        f"The last negative pregnancy test must be at most {at.ruleset.t6_days} days old "
        f"(collected on or after {oldest.isoformat()}); obtain a new test.",
    )


def last_sensitive_negative(patient: PatientState, at: DecisionTime) -> PregnancyTest | None:
    """The most recent negative test that counts (A2's start for FRP)."""
    tests = [t for t in _negatives(patient, at) if is_sensitive(t, at.ruleset)]
    return max(tests, key=lambda t: t.collected_at, default=None)


def t7_reasons(patient: PatientState) -> list[Reason]:
    """T7: a positive test or suspected pregnancy blocks a female patient until resolved."""
    if patient.sex is not Sex.FEMALE or not patient.pregnancy_open:
        return []
    return [
        Reason(
            rule="T7",
            message="A positive pregnancy test or suspected pregnancy is open: therapy is "
            "stopped until compliance resolves it (resolve_pregnancy_report).",
        )
    ]


def open_abnormality(patient: PatientState, at: DecisionTime) -> bool:
    """T8: an abnormality recorded with no sensitive negative test collected after it."""
    negatives = [t for t in _negatives(patient, at) if is_sensitive(t, at.ruleset)]
    return any(
        not any(t.collected_at > noted for t in negatives)
        for noted in patient.abnormalities
        if noted <= at.now
    )


def t8_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """T8: a missed period or abnormal bleeding blocks an FRP until a negative test."""
    if not open_abnormality(patient, at):
        return []
    return [
        Reason(
            rule="T8",
            message="A missed period or abnormal menstrual bleeding was recorded: therapy is "
            "stopped until a negative pregnancy test collected after it.",
        )
    ]
