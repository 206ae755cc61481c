"""E8 facts on a patient: a possible duplicate flagged, compliance's review, and the note on the
earlier record that a duplicate of it existed."""

from __future__ import annotations

from domain.patient_fold import PatientEvent
from domain.patient_state import DuplicateFlag, PatientState
from domain.values import DuplicateFinding


class PossibleDuplicateFlagged(PatientEvent):
    """At enrollment, the same folded name and birth date were already enrolled under
    `other_patient_id` (E8): authorizations and confirmations are denied until reviewed."""

    other_patient_id: str

    def fold(self, state: PatientState) -> PatientState:
        flag = DuplicateFlag(other_patient_id=self.other_patient_id, flagged_at=self.timestamp)
        return state.model_copy(update={"duplicate_flags": (*state.duplicate_flags, flag)})


class PossibleDuplicateReviewed(PatientEvent):
    """Compliance reviewed the pair (this newer record, `other_patient_id` the earlier one).
    `distinct_people` clears E8 for the pair; `same_person` keeps it for good."""

    other_patient_id: str
    finding: DuplicateFinding
    evidence: str

    def fold(self, state: PatientState) -> PatientState:
        flags = tuple(
            f.model_copy(update={"finding": self.finding, "reviewed_at": self.timestamp})
            if f.other_patient_id == self.other_patient_id
            else f
            for f in state.duplicate_flags
        )
        return state.model_copy(update={"duplicate_flags": flags})


class DuplicateEnrollmentNoted(PatientEvent):
    """On the earlier record: compliance found `other_patient_id` to be this same person, enrolled
    again under another ID (that record is never authorized; this one stays in use)."""

    other_patient_id: str

    def fold(self, state: PatientState) -> PatientState:
        noted = (*state.duplicates_noted, self.other_patient_id)
        return state.model_copy(update={"duplicates_noted": noted})
