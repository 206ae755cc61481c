"""A4, one open supply: voiding what a newer authorization (or a re-enrollment) supersedes."""

from __future__ import annotations

from application.unit import Unit
from domain.decision_events import AuthorizationVoided, ConfirmationVoided
from domain.patient_state import AuthorizationStatus, ConfirmationStatus, PatientState


def void_open_supply(unit: Unit, patient: PatientState, superseded_by: str) -> list[str]:
    """Void the patient's unused authorizations and undispensed confirmations (A4)."""
    voided = []
    for authorization in patient.authorizations:
        if authorization.status is AuthorizationStatus.ISSUED:
            unit.record_on_patient(
                AuthorizationVoided,
                patient,
                authorization_number=authorization.number,
                superseded_by=superseded_by,
            )
            voided.append(authorization.number)
    for confirmation in patient.confirmations:
        if confirmation.status is ConfirmationStatus.OPEN:
            unit.record_on_patient(
                ConfirmationVoided,
                patient,
                confirmation_number=confirmation.number,
                superseded_by=superseded_by,
            )
            voided.append(confirmation.number)
    return voided
