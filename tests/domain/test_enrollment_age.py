"""E2 read from the rule set: the guardian reason names the rule set's adult age."""

from __future__ import annotations

from datetime import date

from domain.forms import Signatures
from domain.rules.enrollment import form_reasons
from domain.ruleset import RULESETS
from domain.values import Sex

UNSIGNED_MINOR = Signatures(
    patient_signed=False, prescriber_signed=True, all_statements_marked=True
)


def test_E2_names_the_rule_sets_adult_age_when_the_guardian_is_missing() -> None:
    """A minor's form without a guardian is denied with E2 naming the adult age in force (18)."""
    ruleset = RULESETS[-1]
    reasons = form_reasons(
        UNSIGNED_MINOR, Sex.MALE, None, date(2010, 5, 1), date(2026, 4, 20), ruleset
    )
    assert [r.rule for r in reasons] == ["E2"]
    assert f"under {ruleset.adult_age}:" in reasons[0].message


def test_E2_follows_a_rule_set_with_another_adult_age() -> None:
    """Under a rule set whose adult age is 21, a 19-year-old needs a guardian and the reason says
    21."""
    ruleset = RULESETS[-1].model_copy(update={"adult_age": 21})
    reasons = form_reasons(
        UNSIGNED_MINOR, Sex.MALE, None, date(2007, 1, 1), date(2026, 4, 20), ruleset
    )
    assert [r.rule for r in reasons] == ["E2"]
    assert "under 21:" in reasons[0].message
