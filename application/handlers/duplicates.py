"""E8, one person, one enrollment: flagging at enrollment and compliance's review.

Reading (RULES.md, second round): the enrollment itself succeeds, answering
`possible_duplicate: true` and a message that never names the other patient. In the review,
`patient_id` is the newer (flagged) record and `other_patient_id` the earlier one; a pair never
flagged is `not_found`; a pair found to be the same person is final (a later review is denied
E8), while a pair found distinct may be reviewed again (the safer way: it can only re-block).
"""

from __future__ import annotations

from typing import Any

from application.commands import EnrollPatient, ReviewPossibleDuplicate
from application.errors import Denied, NotFound
from application.unit import Outcome, Unit
from domain.chain import NewAggregate
from domain.duplicate_events import (
    DuplicateEnrollmentNoted,
    PossibleDuplicateFlagged,
    PossibleDuplicateReviewed,
)
from domain.duplicates import POSSIBLE_DUPLICATE_MESSAGE, PersonIndexed, person_index_id
from domain.patient_state import PatientState
from domain.reasons import Reason
from domain.values import DuplicateFinding


def flag_possible_duplicates(
    unit: Unit, cmd: EnrollPatient, patient: PatientState
) -> dict[str, Any]:
    """Index the enrollment under its folded identity and flag every other ID already there
    (called after the PatientEnrolled event is recorded, `patient` its state)."""
    index_id = person_index_id(cmd.name, cmd.date_of_birth)
    index = unit.person_index(index_id)
    held = index.patient_ids if index is not None else ()
    for other in held:
        if other != cmd.patient_id and patient.duplicate_flag(other) is None:
            event = unit.record(PossibleDuplicateFlagged, patient, other_patient_id=other)
            patient = event.apply(patient)
    if cmd.patient_id not in held:
        unit.record(PersonIndexed, index or NewAggregate(index_id), patient_id=cmd.patient_id)
    if any(f.blocks for f in patient.duplicate_flags):
        return {"possible_duplicate": True, "message": POSSIBLE_DUPLICATE_MESSAGE}
    return {}


def review_possible_duplicate(unit: Unit, cmd: ReviewPossibleDuplicate) -> Outcome:
    """Compliance's finding on a flagged pair (E8)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    flag = patient.duplicate_flag(cmd.other_patient_id)
    if flag is None:
        msg = (
            f"Patient {cmd.patient_id} was never flagged as a possible duplicate of "
            f"{cmd.other_patient_id}."
        )
        raise NotFound(msg)
    if flag.finding is DuplicateFinding.SAME_PERSON:
        reason = Reason(
            rule="E8",
            message=f"Patient {cmd.patient_id} was already found to be the same person as "
            f"{cmd.other_patient_id}; that finding is final.",
        )
        return Outcome(error=Denied("The pair was already reviewed.", [reason]))
    earlier = unit.enrolled_patient(cmd.other_patient_id)
    unit.record(
        PossibleDuplicateReviewed,
        patient,
        other_patient_id=cmd.other_patient_id,
        finding=cmd.finding,
        evidence=cmd.evidence,
    )
    if cmd.finding is DuplicateFinding.SAME_PERSON:
        unit.record(DuplicateEnrollmentNoted, earlier, other_patient_id=cmd.patient_id)
    still_open = any(
        f.blocks for f in patient.duplicate_flags if f.other_patient_id != cmd.other_patient_id
    )
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "other_patient_id": cmd.other_patient_id,
            "finding": cmd.finding.value,
            "blocks": cmd.finding is DuplicateFinding.SAME_PERSON or still_open,
        }
    )
