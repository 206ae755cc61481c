"""Who may do what (roles and scope), checked on every endpoint before anything is recorded.

- a prescriber acts only for itself and for its own patients (prescriber of record);
- a pharmacy only asks for confirmation numbers, records dispenses (as itself), records capsules
  returned to a pharmacy, and reads the eligibility of a patient whose authorization number it
  presents or for whom it holds a confirmation (RULES.md, "Pharmacy reads");
- compliance staff read everything and manage certifications, prescribers of record and the
  resolution of pregnancy reports;
- an auditor reads everything and changes nothing.
A patient outside the caller's care is answered like a forbidden one, so IDs cannot be probed.
A `duplicate` carries the first result, so it is answered only to the caller it belongs to
(`check_duplicate`): the loser of an enrollment race, or another pharmacy recording a dispense
of a used confirmation, gets 403 and never the other's result.
"""

from __future__ import annotations

from typing import Any

from application.ledger import Ledger
from application.program_ids import normalised_id, normalised_number
from domain.catalogue import RULES
from entrypoints.http.tokens import Principal, Role

PATIENT_FACTS = frozenset(
    {
        "update_reproductive_status",
        "record_counseling",
        "record_contraception",
        "record_pregnancy_test",
        "record_patient_survey",
        "request_authorization",
        "report_pregnancy",
        "record_menstrual_abnormality",
        "discontinue_therapy",
        "record_cbc",
        "record_capsule_return",
    }
)
COMMANDS_BY_ROLE: dict[Role, frozenset[str]] = {
    Role.PRESCRIBER: PATIENT_FACTS | {"enroll_patient"},
    Role.PHARMACY: frozenset(
        {"request_dispense_confirmation", "record_dispense", "record_capsule_return"}
    ),
    Role.COMPLIANCE: frozenset(
        {
            "register_prescriber",
            "certify_prescriber",
            "suspend_prescriber",
            "certify_pharmacy",
            "suspend_pharmacy",
            "change_prescriber",
            "resolve_pregnancy_report",
            "report_pregnancy",
            "review_possible_duplicate",
        }
    ),
    Role.AUDITOR: frozenset(),
}
READERS = frozenset({Role.COMPLIANCE, Role.AUDITOR})


class Forbidden(Exception):
    """The caller's role or scope does not allow this (with the rules behind it, if any)."""

    def __init__(self, message: str, reasons: tuple[dict[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = reasons


def _subject(principal: Principal) -> str:
    """The caller's program ID as commands write it (tokens made before normalisation too)."""
    return normalised_id(principal.subject) or principal.subject


def _under_care(ledger: Ledger, principal: Principal, patient_id: Any) -> None:
    patient_id = normalised_id(patient_id) if isinstance(patient_id, str) else None
    if patient_id is None:
        return  # malformed: the command itself will be answered `invalid`
    patient = ledger.patient_state(patient_id)
    if patient is None or patient.prescriber_id != _subject(principal):
        msg = f"Patient {patient_id} is not under the care of prescriber {principal.subject}."
        raise Forbidden(msg)


def _same(principal: Principal, body: dict[str, Any], field: str) -> None:
    value = body.get(field)
    if isinstance(value, str) and normalised_id(value) not in (_subject(principal), None):
        msg = f"{field}: a {principal.role.value} acts only as itself ({principal.subject})."
        raise Forbidden(msg)


def check_command(ledger: Ledger, principal: Principal, name: str, body: dict[str, Any]) -> None:
    """Raise Forbidden unless the caller may send this command with this body."""
    if name not in COMMANDS_BY_ROLE[principal.role]:
        msg = f"A {principal.role.value} may not {name.replace('_', ' ')}."
        raise Forbidden(msg)
    if principal.role is Role.PRESCRIBER:
        _same(principal, body, "prescriber_id")
        if name == "enroll_patient":
            existing = body.get("patient_id")
            known = normalised_id(existing) if isinstance(existing, str) else None
            if known is not None and ledger.patient_state(known) is not None:
                _under_care(ledger, principal, known)
        else:
            _under_care(ledger, principal, body.get("patient_id"))
    elif principal.role is Role.PHARMACY:
        if name == "record_capsule_return":
            if body.get("returned_to") != "pharmacy":
                msg = "returned_to: a pharmacy records capsules returned to a pharmacy."
                raise Forbidden(msg)
        else:
            _same(principal, body, "pharmacy_id")


def check_patient_read(
    ledger: Ledger,
    principal: Principal,
    patient_id: str,
    what: str,
    authorization_number: str | None = None,
) -> None:
    """Raise Forbidden unless the caller may read this about the patient."""
    if principal.role in READERS:
        return
    if principal.role is Role.PHARMACY and what == "eligibility":
        if _pharmacy_may_read(ledger, principal, patient_id, authorization_number):
            return
        msg = (
            f"A pharmacy reads a patient's eligibility with the patient's authorization number "
            f"(?authorization_number=RA-...) or a confirmation it holds for {patient_id}."
        )
        raise Forbidden(msg)
    if principal.role is Role.PRESCRIBER:
        _under_care(ledger, principal, patient_id)
        return
    msg = f"A {principal.role.value} may not read a patient's {what}."
    raise Forbidden(msg)


def _pharmacy_may_read(
    ledger: Ledger, principal: Principal, patient_id: str, authorization_number: str | None
) -> bool:
    wanted = normalised_id(patient_id)
    if wanted is None:
        return False
    if authorization_number is not None:
        presented = normalised_number(authorization_number)
        claim = ledger.claim("authorization", presented) if presented else None
        if claim is not None and claim.patient_id == wanted:
            return True
    patient = ledger.patient_state(wanted)
    return patient is not None and any(
        c.pharmacy_id == _subject(principal) for c in patient.confirmations
    )


def check_program_read(principal: Principal, what: str) -> None:
    """Program-wide reads (work queue, report, verify, digest) are for compliance and audit."""
    if principal.role not in READERS:
        msg = f"Only compliance staff and auditors may read the {what}."
        raise Forbidden(msg)


def check_duplicate(
    ledger: Ledger, principal: Principal, name: str, result: dict[str, Any]
) -> None:
    """Raise Forbidden when a `duplicate` result's original belongs to someone else."""
    error = result.get("error")
    if not isinstance(error, dict) or error.get("code") != "duplicate":
        return
    original = _first_result(result)
    if principal.role is Role.PRESCRIBER and name == "enroll_patient":
        # Two prescribers enrolled one new ID at once: both passed the scope check before the
        # patient existed; the one whose enrollment lost is not the prescriber of record.
        _under_care(ledger, principal, original.get("patient_id"))
    elif principal.role is Role.PHARMACY and name == "record_dispense":
        patient = ledger.patient_state(str(original.get("patient_id")))
        number = str(original.get("confirmation_number"))
        confirmation = patient.confirmation(number) if patient else None
        if confirmation is None or confirmation.pharmacy_id != _subject(principal):
            msg = f"Confirmation {number} is not a confirmation of pharmacy {principal.subject}."
            raise Forbidden(msg, ({"rule": "D1", "message": RULES["D1"].text},))


def _first_result(result: dict[str, Any]) -> dict[str, Any]:
    """The result a duplicate stands for. A retried key whose first outcome was itself a
    duplicate holds that duplicate as its receipt, so unwrap to the innermost original."""
    original: Any = result.get("original")
    while isinstance(original, dict) and isinstance(original.get("original"), dict):
        original = original["original"]
    return original if isinstance(original, dict) else {}
