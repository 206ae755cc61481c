"""Why a decision went the way it did: one entry per unmet rule, citing its ID."""

from __future__ import annotations

from domain.base import Frozen


class Reason(Frozen):
    """An unmet rule and a message a prescriber or pharmacist can act on."""

    rule: str
    """The rule's ID in RULES.md, e.g. `T6`."""
    message: str
    """What is missing and what would fix it."""


def merge(reasons: list[Reason]) -> list[Reason]:
    """Exactly one entry per rule ID, first-seen order; messages of the same rule are joined."""
    merged: dict[str, list[str]] = {}
    for reason in reasons:
        messages = merged.setdefault(reason.rule, [])
        if reason.message not in messages:
            messages.append(reason.message)
    return [Reason(rule=rule, message=" ".join(msgs)) for rule, msgs in merged.items()]
