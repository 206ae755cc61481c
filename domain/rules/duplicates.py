"""E8: one person, one enrollment.

Reading (RULES.md, second round): a record flagged as a possible duplicate is denied every
authorization and confirmation until compliance reviews the pair; `distinct_people` clears the
pair, `same_person` keeps E8 on the newer record for good (the prescriber uses the earlier ID).
"""

from __future__ import annotations

from domain.patient_state import PatientState
from domain.reasons import Reason
from domain.values import DuplicateFinding


def e8_reasons(patient: PatientState) -> list[Reason]:
    """E8 while any possible duplicate of this record is unreviewed or the same person."""
    blocking = [f for f in patient.duplicate_flags if f.blocks]
    if not blocking:
        return []
    if any(f.finding is DuplicateFinding.SAME_PERSON for f in blocking):
        message = (
            "Compliance found this enrollment to be a duplicate of the same person under "
            "another ID; it is never authorized. Use the patient's earlier ID."
        )
    else:
        message = (
            "This enrollment is a possible duplicate of a patient already enrolled under another "
            "ID; it is under compliance review (review_possible_duplicate)."
        )
    return [Reason(rule="E8", message=message)]
