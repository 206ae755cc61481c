"""A4, one open supply: what a newer authorization (or a re-enrollment) supersedes."""

from __future__ import annotations

from domain.base import Frozen
from domain.patient_state import AuthorizationStatus, ConfirmationStatus, PatientState


class OpenSupply(Frozen):
    """The patient's supply still open: the voiding a new authorization must record (A4)."""

    authorizations: tuple[str, ...]
    """Issued authorization numbers not yet used for a confirmation."""
    confirmations: tuple[str, ...]
    """Confirmation numbers not yet dispensed."""


def open_supply(patient: PatientState) -> OpenSupply:
    """What A4 voids when a newer authorization is issued or the patient re-enrolls."""
    return OpenSupply(
        authorizations=tuple(
            a.number for a in patient.authorizations if a.status is AuthorizationStatus.ISSUED
        ),
        confirmations=tuple(
            c.number for c in patient.confirmations if c.status is ConfirmationStatus.OPEN
        ),
    )
