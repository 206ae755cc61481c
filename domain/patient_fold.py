"""A patient's facts folded into its state: the base of every patient event and the fold.

Apart from the events themselves (`domain.patient_events`, `domain.decision_events`), so that
reading a stored state, or folding events already decoded, loads no event class.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.base import LedgerEvent
from domain.patient_state import PatientState


class PatientEvent(LedgerEvent):
    """A fact on a patient's aggregate."""

    def apply(self, state: PatientState | None) -> PatientState:
        """The state after this fact."""
        assert state is not None, f"{self.type_name} needs an enrolled patient"
        return self.fold(state).model_copy(
            update={"version": self.originator_version, "head_hash": self.hash}
        )

    def fold(self, state: PatientState) -> PatientState:
        """This fact's change to an existing state."""
        return state


def project_patient(
    state: PatientState | None, events: Iterable[PatientEvent]
) -> PatientState | None:
    """Fold a patient's events into its state (the aggregate projector)."""
    for event in events:
        state = event.apply(state)
    return state
