"""Live decisions and replay share one domain decision (issue 9): re-deciding every decision of
a simulated program on the history before it gives, field by field, what the live handler
recorded: the outcome, the reasons, the terms, and the inputs it read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.ledger import Ledger
from application.replay import decision_context, redecide
from domain.decision_events import (
    AuthorizationDenied,
    AuthorizationIssued,
    Decision,
    DispenseConfirmed,
    DispenseDenied,
    DispenseRecorded,
)
from domain.patient_events import PatientEvent
from domain.registry import aggregate_id
from domain.rules.authorization import AuthorizationOutcome
from domain.rules.confirmation import ConfirmationOutcome
from domain.rules.dispensing import DispenseOutcome
from simulation.demo import run_demo
from tests.conftest import make_ledger

PATIENTS = 24
PATIENT_IDS = ["PT-LAPSED", *[f"PT-{n:05d}" for n in range(1, PATIENTS + 1)]]


@pytest.fixture(scope="module")
def simulated(module_backend_url: str) -> Iterator[Ledger]:
    """A simulated program of 24 patients (plus a lapsed one), per backend."""
    ledger = make_ledger(module_backend_url)
    run_demo(ledger, patients=PATIENTS)
    yield ledger
    ledger.close()


def recorded_fields(decision: Decision) -> dict[str, Any]:
    """The fields of a recorded decision that the rules decided."""
    fields: dict[str, Any] = {
        "inputs": decision.inputs,
        "reasons": list(getattr(decision, "reasons", ())),
    }
    if isinstance(decision, AuthorizationIssued):
        fields.update(
            issued=True,
            risk_category=decision.risk_category,
            expires_at=decision.expires_at,
            initial=decision.initial,
        )
    elif isinstance(decision, AuthorizationDenied):
        fields.update(issued=False, risk_category=decision.risk_category)
    else:
        fields["granted"] = not isinstance(decision, DispenseDenied)
    return fields


def redecided_fields(decision: Decision, outcome: Any) -> dict[str, Any]:
    """The same fields from the domain decision re-run on the history before it."""
    fields: dict[str, Any] = {"inputs": outcome.inputs.recorded(), "reasons": list(outcome.reasons)}
    if isinstance(outcome, AuthorizationOutcome):
        fields.update(issued=outcome.issued, risk_category=outcome.risk_category)
        if isinstance(decision, AuthorizationIssued):
            fields.update(expires_at=outcome.expires_at, initial=outcome.initial)
    elif isinstance(outcome, ConfirmationOutcome):
        fields["granted"] = outcome.confirmed
    else:
        assert isinstance(outcome, DispenseOutcome)
        fields["granted"] = outcome.recorded
    return fields


def test_A1_D1_every_decision_redecided_in_the_domain_equals_the_record_field_by_field(
    simulated: Ledger,
) -> None:
    """Every authorization, confirmation and dispense decision of a simulated program, re-decided
    by the domain function the live handler called, matches the stored event in every field the
    rules decided, the recorded inputs included."""
    kinds: set[str] = set()
    different = []
    for patient_id in PATIENT_IDS:
        stored = simulated.stored_events(aggregate_id("patient", patient_id))
        events = [e for e in stored if isinstance(e, PatientEvent)]
        for decision in (e for e in events if isinstance(e, Decision)):
            patient, at = decision_context(simulated, events, decision)
            outcome = redecide(simulated, patient, decision, at)
            kinds.add(type(decision).__name__)
            want, got = recorded_fields(decision), redecided_fields(decision, outcome)
            assert want.keys() == got.keys()
            different += [
                (patient_id, decision.originator_version, key, want[key], got[key])
                for key in want
                if want[key] != got[key]
            ]
    assert different == []
    assert kinds == {
        c.__name__
        for c in (
            AuthorizationIssued,
            AuthorizationDenied,
            DispenseConfirmed,
            DispenseDenied,
            DispenseRecorded,
        )
    }
