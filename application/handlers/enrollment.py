"""Enrollment, reproductive status and the prescriber of record (E1-E7, R1-R3, P1, P5)."""

from __future__ import annotations

from typing import Any

from application.commands import (
    ChangePrescriber,
    EnrollPatient,
    FemaleFields,
    UpdateReproductiveStatus,
)
from application.errors import Denied, Duplicate, InvalidCommand
from application.handlers.duplicates import flag_possible_duplicates
from application.handlers.supply import void_open_supply
from application.unit import Outcome, Unit
from domain.categories import category_of, risk_category
from domain.chain import NewAggregate
from domain.forms import ReproductiveFacts, Signatures
from domain.patient_events import PatientEnrolled, PrescriberChanged, ReproductiveStatusUpdated
from domain.reasons import merge
from domain.rules.enrollment import form_reasons, reproductive_reasons
from domain.rules.lapse import is_lapsed
from domain.rules.participants import prescriber_reasons
from domain.values import Sex


def _facts_from(cmd: FemaleFields, base: ReproductiveFacts | None) -> ReproductiveFacts | None:
    given = {name: getattr(cmd, name) for name in cmd.female_fields_given()}
    if base is not None:
        return base.model_copy(update=given)
    if cmd.menstruation is None:
        return None
    return ReproductiveFacts(**given)


def _reject_female_fields_for_male(cmd: FemaleFields) -> None:
    given = cmd.female_fields_given()
    if given:
        msg = f"{given[0]}: menstrual and reproductive facts are for female patients only."
        raise InvalidCommand(msg, field=given[0])


def enroll_patient(unit: Unit, cmd: EnrollPatient) -> Outcome:
    """Accept the Patient-Physician Agreement Form, or deny it naming every missing item."""
    existing = unit.patient(cmd.patient_id)
    if existing is not None and not is_lapsed(existing, unit.at):
        msg = f"Patient {cmd.patient_id} is already enrolled (enrollment has not lapsed)."
        raise Duplicate(msg, original=_enrollment_result(cmd.patient_id, existing.enrollment))
    if cmd.sex is Sex.MALE:
        _reject_female_fields_for_male(cmd)
    facts = _facts_from(cmd, None) if cmd.sex is Sex.FEMALE else None
    signatures = Signatures(
        patient_signed=cmd.patient_signed,
        prescriber_signed=cmd.prescriber_signed,
        all_statements_marked=cmd.all_statements_marked,
        competent=cmd.competent,
        guardian=cmd.guardian.to_domain() if cmd.guardian else None,
        authorized_representative=cmd.authorized_representative.to_domain()
        if cmd.authorized_representative
        else None,
        prescriber_letter=cmd.prescriber_letter.to_domain() if cmd.prescriber_letter else None,
    )
    reasons = prescriber_reasons(unit.prescriber(cmd.prescriber_id), cmd.prescriber_id)
    reasons += form_reasons(
        signatures, cmd.sex, facts, cmd.date_of_birth, unit.at.day, unit.at.ruleset
    )
    if reasons:
        msg = f"The enrollment form for patient {cmd.patient_id} cannot be accepted."
        return Outcome(error=Denied(msg, merge(reasons)))
    category = risk_category(cmd.sex, cmd.date_of_birth, facts, unit.at.day, unit.at.ruleset)
    number = len(existing.enrollments) + 1 if existing else 1
    if existing is not None:
        # Re-enrollment starts authorizations again: nothing of the lapsed enrollment is used.
        void_open_supply(unit, existing, superseded_by=f"re-enrollment {number}")
    event = unit.record(
        PatientEnrolled,
        existing or NewAggregate(unit.patient_aggregate_id(cmd.patient_id)),
        patient_id=cmd.patient_id,
        prescriber_id=cmd.prescriber_id,
        name=cmd.name,
        address=cmd.address,
        phone=cmd.phone,
        date_of_birth=cmd.date_of_birth,
        sex=cmd.sex,
        diagnosis_icd10=cmd.diagnosis_icd10,
        language=cmd.language,
        facts=facts,
        signatures=signatures,
        enrollment=number,
        risk_category=category,
    )
    duplicate = flag_possible_duplicates(unit, cmd, event.apply(existing))
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "risk_category": category.value,
            "enrollment": number,
            "enrolled_at": event.occurred_at.isoformat(),
            **duplicate,
        }
    )


def _enrollment_result(patient_id: str, enrollment: Any) -> dict[str, Any]:
    return {
        "ok": True,
        "patient_id": patient_id,
        "risk_category": enrollment.risk_category.value,
        "enrollment": enrollment.number,
        "enrolled_at": enrollment.enrolled_at.isoformat(),
    }


def update_reproductive_status(unit: Unit, cmd: UpdateReproductiveStatus) -> Outcome:
    """Re-state a female patient's reproductive facts; the category follows at once (R3)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    if patient.sex is Sex.MALE:
        _reject_female_fields_for_male(cmd)
    if not cmd.female_fields_given():
        msg = "menstruation: give at least one reproductive fact to update."
        raise InvalidCommand(msg, field="menstruation")
    facts = _facts_from(cmd, patient.facts)
    if facts is None:
        msg = "menstruation: required, no menstrual status is on file yet (E4)."
        raise InvalidCommand(msg, field="menstruation")
    reasons = reproductive_reasons(facts)
    if reasons:
        return Outcome(error=Denied("The reproductive facts are incomplete.", reasons))
    before = category_of(patient, unit.at.day, unit.at.ruleset)
    after = risk_category(patient.sex, patient.date_of_birth, facts, unit.at.day, unit.at.ruleset)
    unit.record(
        ReproductiveStatusUpdated,
        patient,
        facts=facts,
        became_frp=after.is_frp and not before.is_frp,
    )
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "risk_category": after.value,
            "previous_risk_category": before.value,
            "changed": after is not before,
        }
    )


def change_prescriber(unit: Unit, cmd: ChangePrescriber) -> Outcome:
    """Move the patient to another certified prescriber of record (P1, P5)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    reasons = prescriber_reasons(unit.prescriber(cmd.prescriber_id), cmd.prescriber_id)
    if reasons:
        msg = f"Prescriber {cmd.prescriber_id} cannot take over patient {cmd.patient_id}."
        return Outcome(error=Denied(msg, reasons))
    if cmd.prescriber_id != patient.prescriber_id:
        unit.record(
            PrescriberChanged,
            patient,
            prescriber_id=cmd.prescriber_id,
            previous_prescriber_id=patient.prescriber_id,
        )
    return Outcome({"patient_id": cmd.patient_id, "prescriber_id": cmd.prescriber_id})
