"""Prescribers and pharmacies, and their certification (P1-P4)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from domain.base import Frozen, LedgerEvent
from domain.chain import GENESIS


class ParticipantState(Frozen):
    """A prescriber or pharmacy: whether it may act now (P1, P2, P3)."""

    id: UUID
    version: int
    participant_id: str
    head_hash: str = GENESIS
    """Hash of the latest event."""
    certified: bool = False
    suspended_reason: str | None = None
    """Set while a suspension is in force (P3); cleared by re-certification."""


class ParticipantEvent(LedgerEvent):
    """A fact on a prescriber's or pharmacy's aggregate."""

    def apply(self, state: ParticipantState | None) -> ParticipantState:
        """The state after this fact."""
        assert state is not None, f"{self.type_name} needs a registered participant"
        return self.fold(state).model_copy(
            update={"version": self.originator_version, "head_hash": self.hash}
        )

    def fold(self, state: ParticipantState) -> ParticipantState:
        """This fact's change to an existing state."""
        return state


class PrescriberRegistered(ParticipantEvent):
    """A prescriber enrolled in the program (P4)."""

    prescriber_id: str
    name: str
    address: str
    fax: str

    def apply(self, state: ParticipantState | None) -> ParticipantState:
        return ParticipantState(
            id=self.originator_id,
            version=self.originator_version,
            head_hash=self.hash,
            participant_id=self.prescriber_id,
        )


class PharmacyCertified(ParticipantEvent):
    """A pharmacy was certified (P2); the first certification creates its record."""

    pharmacy_id: str
    name: str
    address: str

    def apply(self, state: ParticipantState | None) -> ParticipantState:
        return ParticipantState(
            id=self.originator_id,
            version=self.originator_version,
            head_hash=self.hash,
            participant_id=self.pharmacy_id,
            certified=True,
        )


class PrescriberCertified(ParticipantEvent):
    """A registered prescriber was certified, or re-certified after a suspension (P1)."""

    def fold(self, state: ParticipantState) -> ParticipantState:
        return state.model_copy(update={"certified": True, "suspended_reason": None})


class PharmacyRecertified(ParticipantEvent):
    """A suspended pharmacy was certified again (P2)."""

    def fold(self, state: ParticipantState) -> ParticipantState:
        return state.model_copy(update={"certified": True, "suspended_reason": None})


class CertificationSuspended(ParticipantEvent):
    """A prescriber's or pharmacy's certification was suspended or revoked (P3)."""

    reason: str

    def fold(self, state: ParticipantState) -> ParticipantState:
        return state.model_copy(update={"certified": False, "suspended_reason": self.reason})


class PrescriberSuspended(CertificationSuspended):
    """A prescriber's certification was suspended or revoked (P3)."""


class PharmacySuspended(CertificationSuspended):
    """A pharmacy's certification was suspended or revoked (P3)."""


PRESCRIBER_EVENTS = (PrescriberRegistered, PrescriberCertified, PrescriberSuspended)
PHARMACY_EVENTS = (PharmacyCertified, PharmacyRecertified, PharmacySuspended)


def project_participant(
    state: ParticipantState | None, events: Iterable[ParticipantEvent]
) -> ParticipantState | None:
    """Fold a participant's events into its state."""
    for event in events:
        state = event.apply(state)
    return state
