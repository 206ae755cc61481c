"""The rule set as versioned data with an effective date (RULES.md, "Time").

Every number a rule uses lives here. A decision records the version it was made under, and a
replay looks the version up again, so a later program modification never changes how an earlier
decision is re-run.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.base import Frozen


class RuleSet(Frozen):
    """The parameters of the program's rules in force from `effective_from`."""

    version: str
    """Stable name of this rule set, recorded on every decision."""
    effective_from: date
    """First day (program time zone) on which decisions use this rule set."""
    t1_min_days: int = 10
    """T1: the first test is at least this many calendar days before the prescription."""
    t1_max_days: int = 14
    """T1: ... and at most this many."""
    t2_hours: int = 24
    """T2: the second test is within this many hours before the prescription."""
    t6_days: int = 7
    """T6: the last negative test is at most this many days old."""
    t4_weekly_weeks: int = 4
    """T4: tests are weekly during this many first weeks of use."""
    t4_interval_days: int = 7
    """T4: ... one every this many days."""
    t5_interval_days: int = 28
    """T5: after the first weeks, one every this many days (4 weeks) ..."""
    t5_irregular_interval_days: int = 14
    """T5: ... or every this many days (2 weeks) with irregular menses."""
    min_sensitivity_miu_per_ml: float = 50.0
    """T3: a test counts only if its detection threshold is at most this (mIU/mL)."""
    a2_frp_days: int = 7
    """A2: an FRP authorization is valid this many days from the date of the last test."""
    a2_other_days: int = 30
    """A2: other authorizations are valid this many days from issue."""
    a2_expiry_notice_days: int = 2
    """A2 (work queue): an open authorization is listed this many days before it expires."""
    max_days_supply: int = 28
    """A3: the largest supply one prescription may carry."""
    max_refills: int = 0
    """A3: no automatic refills."""
    s3_monthly_days: int = 30
    """S3: a 'monthly' survey is one within this many days before the decision date."""
    s3_fnrp_months: int = 6
    """S3: adult FNRP surveys are current for this many calendar months."""
    c2_days: int = 28
    """C2: contraception started at least this many days (4 weeks) before therapy."""
    e6_months: int = 12
    """E6: the enrollment lapses this many months after the last dispense or enrollment."""
    adult_age: int = 18
    """R2: a child is under this age."""
    m1_weekly_weeks: int = 8
    """M1 (del 5q MDS): a complete blood count weekly during this many first weeks of therapy ..."""
    m1_weekly_interval_days: int = 7
    """M1: ... one every this many days ..."""
    m1_monthly_interval_months: int = 1
    """M1: ... then at least one every this many calendar months."""
    natural_menopause_months: int = 24
    """R1: natural menopause counts from this many consecutive months."""
    system_clock_tolerance_seconds: int = 300
    """Under the system clock, a decision's `at` may differ from the server clock by this much."""


RULESETS: tuple[RuleSet, ...] = (
    RuleSet.model_construct(version="2026.1", effective_from=date(2000, 1, 1)),
)
"""Every rule set the program has had, oldest first. Constructed, not validated: validating here
would build RuleSet's validator in every process that imports the rules (the CLI's start-up);
tests/domain/test_ruleset_data.py validates each entry instead."""


class UnknownRuleSetError(LookupError):
    """A decision names a rule-set version this build does not know."""


def ruleset_in_force(on: date | datetime) -> RuleSet:
    """The rule set in force on the given day (the latest whose effective date has come)."""
    day = on.date() if isinstance(on, datetime) else on
    in_force = [r for r in RULESETS if r.effective_from <= day]
    return in_force[-1] if in_force else RULESETS[0]


def ruleset_version(version: str) -> RuleSet:
    """The rule set with the given version, for replaying a recorded decision."""
    for ruleset in RULESETS:
        if ruleset.version == version:
            return ruleset
    raise UnknownRuleSetError(version)
