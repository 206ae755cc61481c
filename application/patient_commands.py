"""The commands that record facts about a patient: the enrollment form (E1-E5), reproductive
status (R3), counseling, contraception, tests, surveys, pregnancy and menses, therapy's end,
monitoring, a change of prescriber, and compliance's reviews (T7, E8).

JSON strings are accepted for dates and datetimes; program IDs are normalised
(`application.program_ids`), instants and dates bounded (`application.bounds`), numbers kept to
plausible ranges (the bound is named in the message).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from application.bounds import Day, Instant
from application.command_base import Command
from application.form_parts import GuardianPart, LetterPart, LongText, RepresentativePart, Text
from application.id_fields import ProgramId
from domain.values import (
    CapsuleReturnPlace,
    CounselingTopic,
    DuplicateFinding,
    Language,
    Menstruation,
    Method,
    PregnancyResolution,
    PregnancyTestResult,
    Sex,
)

LanguageName = Annotated[
    Language, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)
]
Icd10 = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")]


class FemaleFields(Command):
    """The reproductive facts of E4, optional on the wire (required for females by E4)."""

    menstruation: Menstruation | None = None
    natural_menopause_months: Annotated[int, Field(ge=0, le=1200)] | None = None
    surgical_or_chemical_menopause_months: Annotated[int, Field(ge=0, le=1200)] | None = None
    hysterectomy: bool | None = None
    bilateral_oophorectomy: bool | None = None

    def female_fields_given(self) -> list[str]:
        """Names of the reproductive fields present in the command."""
        return [
            name
            for name in (
                "menstruation",
                "natural_menopause_months",
                "surgical_or_chemical_menopause_months",
                "hysterectomy",
                "bilateral_oophorectomy",
            )
            if getattr(self, name) is not None
        ]


class EnrollPatient(FemaleFields):
    command: Literal["enroll_patient"]
    patient_id: ProgramId
    prescriber_id: ProgramId
    name: Text
    address: Text
    phone: Text
    date_of_birth: Day
    sex: Sex
    diagnosis_icd10: Icd10
    language: LanguageName
    patient_signed: bool
    prescriber_signed: bool
    all_statements_marked: bool
    guardian: GuardianPart | None = None
    competent: bool = True
    authorized_representative: RepresentativePart | None = None
    prescriber_letter: LetterPart | None = None


class UpdateReproductiveStatus(FemaleFields):
    command: Literal["update_reproductive_status"]
    patient_id: ProgramId


class RecordCounseling(Command):
    command: Literal["record_counseling"]
    patient_id: ProgramId
    prescriber_id: ProgramId
    topics: Annotated[list[CounselingTopic], Field(min_length=1)]


class RecordContraception(Command):
    command: Literal["record_contraception"]
    patient_id: ProgramId
    abstinence: bool = False
    methods: list[Method] = []
    started_on: Day
    hormonal_contraindicated: bool = False


class RecordPregnancyTest(Command):
    command: Literal["record_pregnancy_test"]
    patient_id: ProgramId
    collected_at: Instant
    result: PregnancyTestResult
    sensitivity_miu_per_ml: Annotated[float, Field(ge=1, le=10000)]


class RecordPatientSurvey(Command):
    command: Literal["record_patient_survey"]
    patient_id: ProgramId
    compliant: bool
    concerns: LongText | None = None


class ReportPregnancy(Command):
    command: Literal["report_pregnancy"]
    patient_id: ProgramId
    suspected_on: Day
    reported_to_medwatch: bool
    reported_to_rems: bool


class RecordMenstrualAbnormality(Command):
    command: Literal["record_menstrual_abnormality"]
    patient_id: ProgramId
    noted_on: Day


class DiscontinueTherapy(Command):
    command: Literal["discontinue_therapy"]
    patient_id: ProgramId
    last_dose_on: Day
    reason: Text


class RecordCbc(Command):
    command: Literal["record_cbc"]
    patient_id: ProgramId
    collected_at: Instant


class RecordCapsuleReturn(Command):
    command: Literal["record_capsule_return"]
    patient_id: ProgramId
    capsules: Annotated[int, Field(ge=0, le=1000)]
    returned_to: CapsuleReturnPlace


class ChangePrescriber(Command):
    command: Literal["change_prescriber"]
    patient_id: ProgramId
    prescriber_id: ProgramId


class ResolvePregnancyReport(Command):
    command: Literal["resolve_pregnancy_report"]
    patient_id: ProgramId
    resolution: PregnancyResolution
    evidence: Text
    resolved_on: Day


class ReviewPossibleDuplicate(Command):
    """Compliance's review of an E8 possible duplicate: `patient_id` is the newer (flagged)
    record, `other_patient_id` the earlier one."""

    command: Literal["review_possible_duplicate"]
    patient_id: ProgramId
    other_patient_id: ProgramId
    finding: DuplicateFinding
    evidence: Text
