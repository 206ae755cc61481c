"""Readable tables for the query commands (their `--json` forms are the contract)."""

from __future__ import annotations

import sys
from typing import Any

import orjson


def print_json(obj: Any) -> None:
    """One compact JSON document on stdout (the `--json` form of every command)."""
    sys.stdout.buffer.write(orjson.dumps(obj) + b"\n")
    sys.stdout.flush()


def eligibility(answer: dict[str, Any]) -> None:
    """Eligibility with reasons and what is due next."""
    verdict = "ELIGIBLE" if answer["eligible"] else "NOT ELIGIBLE"
    print(f"{answer['patient_id']}: {verdict} ({answer['risk_category']}) as of {answer['as_of']}")
    for reason in answer["reasons"]:
        print(f"  {reason['rule']:<3} {reason['message']}")
    for name, due in answer["next_due"].items():
        if due:
            print(f"  next {name.replace('_', ' ')}: {due}")


def history(answer: dict[str, Any]) -> None:
    """One line per event: recorded, occurred, type, actor."""
    print(f"{'recorded_at':<26} {'occurred_at':<26} {'event':<30} actor")
    for event in answer["events"]:
        print(
            f"{event['recorded_at']:<26} {event['occurred_at']:<26} {event['type']:<30} "
            f"{event.get('actor', '')}"
        )


def due(answer: dict[str, Any]) -> None:
    """The work queue, most overdue first."""
    print(f"Due or overdue on {answer['on']}: {len(answer['patients'])} patients")
    for entry in answer["patients"]:
        for item in entry["items"]:
            late = f"{item['days_overdue']} days overdue" if item["days_overdue"] else "due today"
            print(f"  {entry['patient_id']:<12} {item['rule']:<3} {item['what']:<55} {late}")


def report(answer: dict[str, Any]) -> None:
    """Authorizations per month."""
    print(f"{'month':<8} {'issued':>7} {'denied':>7}  denied by rule")
    for month in answer["months"]:
        rules = ", ".join(f"{rule} {count}" for rule, count in month["denied_by_rule"].items())
        print(f"{month['month']:<8} {month['issued']:>7} {month['denied']:>7}  {rules}")


def replay(answer: dict[str, Any]) -> None:
    """The decision, its original outcome and the replay's."""
    verdict = "SAME" if answer["same"] else "DIFFERENT"
    keys = ("authorization_number", "confirmation_number", "reference")
    named = next(answer[k] for k in keys if k in answer)
    print(f"{named} ({answer['type']}, rule set {answer['ruleset_version']}): {verdict}")
    print(f"  original: {answer['original']}")
    print(f"  replayed: {answer['replayed']}")
