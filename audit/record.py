"""The FDA inspection record of one patient, as plain JSON-able data.

The record holds everything the HTML page shows, so the page is a rendering of the JSON export
and nothing more: the patient's history as recorded (`history`), every decision with its
reasons, each reason's rule text from the catalogue and a fresh replay, the verification of what
the record rests on (the patient's aggregate, its number claims, its prescribers and pharmacies,
re-read from the rows: `verify_aggregates`) and the ledger digest of the log tree's heads; and
the members an inspector verifies offline (`sth`, `consistency_from_published`, `public_key`,
`events`, `head`: AUDIT-FORMAT.md §6, `audit/proof_export.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from application.command_time import system_now
from application.errors import NotFound, RemsError
from application.ledger import Ledger
from application.program_ids import program_id
from application.queries import default_now, history
from application.replay import replay
from audit.aggregate_rows import rows_of_aggregate
from audit.digest import digest_of_heads
from audit.findings import VerificationReport
from audit.log_tree import LogTree
from audit.proof_export import proof_members, self_check
from audit.tree_heads import Sender
from audit.verify import Verifier
from domain.calendar import day_of
from domain.catalogue import RULES
from domain.categories import category_of
from domain.decision_events import (
    AuthorizationDenied,
    AuthorizationIssued,
    Decision,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)
from domain.patient_events import PatientEvent, project_patient
from domain.registry import aggregate_id
from domain.ruleset import ruleset_in_force
from rendering.record_html import render_html

EXPORT_FORMAT = "rems-export-v2"
UNSIGNED = dict.fromkeys(("sth", "consistency_from_published", "public_key", "head"))
NO_KEY = (
    "REMS_SIGNING_KEY_FILE is not set: this export carries no signed tree head and no proofs, "
    "and cannot be verified offline"
)
UNKNOWN_RULE_TEXT = "(this rule ID is not in the catalogue of this build)"

OUTCOMES: dict[type[Decision], str] = {
    AuthorizationIssued: "issued",
    AuthorizationDenied: "denied",
    DispenseConfirmed: "confirmed",
    DispenseDenied: "denied",
    DispenseRecorded: "dispensed",
}
"""The outcome word of each kind of decision."""


def build_record(
    ledger: Ledger,
    patient_id: str,
    generated_at: datetime | None = None,
    send: Sender | None = None,
) -> dict[str, Any]:
    """The export of one patient; `NotFound` when the ledger has no such patient. With a
    signing key it carries a newly published STH and the proofs of AUDIT-FORMAT.md §6 (`send`
    also hands that STH to Kafka); without one they are null and `unsigned` says why."""
    patient_id = program_id(patient_id, "patient_id")
    events = _patient_events(ledger, patient_id)
    entries = history(ledger, patient_id)["events"]
    decisions = [_decision(ledger, events, e) for e in events if isinstance(e, Decision)]
    verification, digest = _verification(ledger, _aggregates_of(patient_id, events))
    if ledger.settings.signing_key_file is None:
        proofs: dict[str, Any] = {**UNSIGNED, "events": [], "unsigned": NO_KEY}
    else:
        proofs = proof_members(ledger, aggregate_id("patient", patient_id), send)
        proofs["tree_head_check"] = self_check(ledger, proofs)
    return {
        "format": EXPORT_FORMAT,
        "patient_id": patient_id,
        "generated_at": (generated_at or system_now()).isoformat(),
        "program_timezone": ledger.settings.timezone.key,
        "risk_category": _current_category(ledger, events),
        "history": entries,
        "decisions": decisions,
        "verification": verification,
        "digest": digest,
        **proofs,
    }


def _patient_events(ledger: Ledger, patient_id: str) -> list[PatientEvent]:
    stored = ledger.stored_events(aggregate_id("patient", patient_id))
    events = [e for e in stored if isinstance(e, PatientEvent)]
    if not events:
        msg = f"Patient {patient_id} is not enrolled in the REMS; there is nothing to export."
        raise NotFound(msg)
    return events


def _current_category(ledger: Ledger, events: list[PatientEvent]) -> str:
    """The risk category now (the ledger's last recorded time under the event clock), from
    the facts recorded so far (R2, R3)."""
    patient = project_patient(None, events)
    assert patient is not None, "a patient's history starts with an enrollment"
    today = day_of(default_now(ledger), ledger.settings.timezone)
    return category_of(patient, today, ruleset_in_force(today)).value


def _decision(ledger: Ledger, events: list[PatientEvent], decision: Decision) -> dict[str, Any]:
    reasons = getattr(decision, "reasons", ())
    try:
        same = bool(replay(ledger, events, decision)["same"])
    except RemsError:
        # The rule-set version is unknown to this build: the decision cannot be re-run here.
        same = False
    return {
        "type": decision.type_name,
        "version": decision.originator_version,
        "decided_at": decision.timestamp.isoformat(),
        "outcome": OUTCOMES.get(type(decision), "recorded"),
        "reference": _reference(decision),
        "ruleset_version": decision.ruleset_version,
        "reasons": [
            {
                "rule": r.rule,
                "message": r.message,
                "rule_text": RULES[r.rule].text if r.rule in RULES else UNKNOWN_RULE_TEXT,
            }
            for r in reasons
        ],
        "inputs": decision.model_dump(mode="json", include={"inputs"})["inputs"],
        "replay_same": same,
    }


def _reference(decision: Decision) -> str | None:
    """The number a decision issued or used: confirmation first, then authorization."""
    for name in ("confirmation_number", "authorization_number"):
        value = getattr(decision, name, None)
        if isinstance(value, str):
            return value
    return None


def _aggregates_of(patient_id: str, events: list[PatientEvent]) -> set[UUID]:
    """The aggregates this patient's record rests on: the patient, the number claims of the
    authorizations and confirmations issued to them, and the prescribers and pharmacies
    whose certification the decisions read."""
    aggregates = {aggregate_id("patient", patient_id)}
    for event in events:
        if isinstance(event, AuthorizationIssued):
            aggregates.add(aggregate_id("authorization", event.authorization_number))
        if isinstance(event, DispenseConfirmed):
            aggregates.add(aggregate_id("confirmation", event.confirmation_number))
        for kind in ("prescriber", "pharmacy"):
            participant = getattr(event, f"{kind}_id", None)
            if isinstance(participant, str):
                aggregates.add(aggregate_id(kind, participant))
    return aggregates


def verify_aggregates(ledger: Ledger, aggregates: Iterable[UUID]) -> VerificationReport:
    """Re-read only these aggregates' rows and check them as `verify` does: what one
    patient's record rests on (its aggregate, its number claims, its prescribers and
    pharmacies), in time proportional to them, not to the ledger. A claim is checked against
    the decisions among these rows only: a claim of another number is not looked at."""
    verifier = Verifier(ledger, None)
    try:
        for aggregate in sorted(aggregates):
            rows = rows_of_aggregate(ledger, aggregate)
            if rows:
                verifier.check_aggregate(rows)
        verifier.finish(None)
    finally:
        verifier.spill.close()
    return verifier.result(None)


def _verification(ledger: Ledger, aggregates: set[UUID]) -> tuple[dict[str, Any], str]:
    """Verify the aggregates the record rests on, from their rows, in time proportional to
    them (issue 13: not a whole-store `verify`, which `rems verify` runs); the digest is of
    every aggregate's head in the log tree, caught up to the end of the log. Other records
    are not looked at (`problems_elsewhere` stays 0)."""
    report = verify_aggregates(ledger, aggregates)
    with LogTree(ledger) as tree:
        snapshot = tree.snapshot()
        bad_rows = tree.unreadable_positions(snapshot.tree_size)
    digest = digest_of_heads(snapshot.heads.heads, bad_rows, snapshot.last_position)
    return {
        "ok": report.ok,
        "scope": "record",
        "events_checked": report.events_checked,
        "aggregates": report.aggregates,
        "position": max(report.position, snapshot.last_position),
        "problems": [p.model_dump(mode="json") for p in report.problems],
        "problems_elsewhere": 0,
    }, digest.text


def render(ledger: Ledger, patient_id: str, fmt: str, send: Sender | None = None) -> bytes:
    """The export of one patient in a format, as bytes; `NotFound` for an unknown patient."""
    record = build_record(ledger, patient_id, send=send)
    if fmt == "json":
        return orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"
    return render_html(record).encode()
