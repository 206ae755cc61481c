"""The rule sets are valid data: each entry of RULESETS (constructed without validation so the
CLI starts fast) is exactly what validating its fields gives."""

from __future__ import annotations

from domain.ruleset import RULESETS, RuleSet


def test_every_rule_set_validates_to_itself() -> None:
    """Validating a rule set's own fields gives back an equal rule set (no wrong type slipped
    into the data)."""
    for ruleset in RULESETS:
        validated = RuleSet.model_validate(ruleset.model_dump())
        assert validated == ruleset
        assert validated.model_dump() == ruleset.model_dump()


def test_rule_sets_are_listed_oldest_first_with_distinct_versions() -> None:
    """Effective dates ascend and no version is named twice (a replay looks a version up)."""
    days = [r.effective_from for r in RULESETS]
    assert days == sorted(days)
    assert len({r.version for r in RULESETS}) == len(RULESETS)
