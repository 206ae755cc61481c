"""A4, one open supply: recording the voiding of what a newer authorization (or a
re-enrollment) supersedes; the choice is the domain's (`domain.rules.supply`)."""

from __future__ import annotations

from application.unit import Unit
from domain.decision_events import AuthorizationVoided, ConfirmationVoided
from domain.patient_state import PatientState
from domain.rules.supply import open_supply


def void_open_supply(unit: Unit, patient: PatientState, superseded_by: str) -> list[str]:
    """Void the patient's unused authorizations and undispensed confirmations (A4)."""
    supply = open_supply(patient)
    for number in supply.authorizations:
        unit.record(
            AuthorizationVoided, patient, authorization_number=number, superseded_by=superseded_by
        )
    for number in supply.confirmations:
        unit.record(
            ConfirmationVoided, patient, confirmation_number=number, superseded_by=superseded_by
        )
    return [*supply.authorizations, *supply.confirmations]
