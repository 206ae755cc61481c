"""The `rems apply` commands (DESIGN.md, "Commands and their fields"): names are the contract.

Parsing is strict at every depth: unknown fields, wrong types and unknown commands are
`invalid`, naming the field. JSON strings are accepted for dates and datetimes; numbers and
booleans must be JSON numbers and booleans. Program IDs are normalised (`application.program_ids`),
instants and dates bounded (`application.bounds`), numbers kept to plausible ranges (the bound is
named in the message).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from application.bounds import Day, Instant
from application.form_parts import GuardianPart, LetterPart, LongText, RepresentativePart, Text
from application.program_ids import NumberRef, ProgramId
from domain.values import (
    CapsuleReturnPlace,
    Channel,
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


class Command(BaseModel):
    """Fields every command may carry."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    command: str
    at: Instant | None = None
    """When the command happens (required under the event clock)."""
    command_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    """The client's idempotency key: a repeat returns the first result."""

    def subject(self) -> str:
        """The program ID the command is about (for messages; never PHI)."""
        for name in ("patient_id", "prescriber_id", "pharmacy_id", "confirmation_number"):
            value = getattr(self, name, None)
            if isinstance(value, str):
                return value
        return "-"


class RegisterPrescriber(Command):
    command: Literal["register_prescriber"]
    prescriber_id: ProgramId
    name: Text
    address: Text
    fax: Text


class CertifyPrescriber(Command):
    command: Literal["certify_prescriber"]
    prescriber_id: ProgramId


class SuspendPrescriber(Command):
    command: Literal["suspend_prescriber"]
    prescriber_id: ProgramId
    reason: Text


class CertifyPharmacy(Command):
    command: Literal["certify_pharmacy"]
    pharmacy_id: ProgramId
    name: Text
    address: Text


class SuspendPharmacy(Command):
    command: Literal["suspend_pharmacy"]
    pharmacy_id: ProgramId
    reason: Text


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


class RequestAuthorization(Command):
    command: Literal["request_authorization"]
    patient_id: ProgramId
    prescriber_id: ProgramId
    daily_dose_mg: Annotated[float, Field(ge=0.5, le=100)]
    days_supply: Annotated[int, Field(ge=1, le=366)]
    refills: Annotated[int, Field(ge=0, le=100)]
    channel: Channel


class RequestDispenseConfirmation(Command):
    command: Literal["request_dispense_confirmation"]
    pharmacy_id: ProgramId
    patient_id: ProgramId
    authorization_number: NumberRef
    days_supply: Annotated[int, Field(ge=1, le=366)]


class RecordDispense(Command):
    command: Literal["record_dispense"]
    pharmacy_id: ProgramId
    confirmation_number: NumberRef
    medication_guide_provided: bool
    counseled: bool
    capsules: Annotated[int, Field(ge=1, le=1000)]


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


COMMANDS: dict[str, type[Command]] = {
    model.model_fields["command"].annotation.__args__[0]: model  # type: ignore[union-attr]  # every command model's `command` is a Literal
    for model in (
        RegisterPrescriber,
        CertifyPrescriber,
        SuspendPrescriber,
        CertifyPharmacy,
        SuspendPharmacy,
        EnrollPatient,
        UpdateReproductiveStatus,
        RecordCounseling,
        RecordContraception,
        RecordPregnancyTest,
        RecordPatientSurvey,
        RequestAuthorization,
        RequestDispenseConfirmation,
        RecordDispense,
        ReportPregnancy,
        RecordMenstrualAbnormality,
        DiscontinueTherapy,
        RecordCbc,
        RecordCapsuleReturn,
        ChangePrescriber,
        ResolvePregnancyReport,
        ReviewPossibleDuplicate,
    )
}
"""Every command of the contract, by its `command` name."""

DECISION_COMMANDS = frozenset(
    {
        "enroll_patient",
        "request_authorization",
        "request_dispense_confirmation",
        "record_dispense",
    }
)
"""Commands that are decisions: under the system clock their `at` must be within 5 minutes."""


def dates_of(command: Command) -> dict[str, Any]:
    """Every date or datetime field of the command that must not lie in the future."""
    names = (
        "collected_at",
        "suspected_on",
        "noted_on",
        "last_dose_on",
        "resolved_on",
        "started_on",
        "date_of_birth",
    )
    found = {n: getattr(command, n) for n in names if getattr(command, n, None) is not None}
    for holder in ("guardian", "authorized_representative", "prescriber_letter"):
        part = getattr(command, holder, None)
        if part is not None and getattr(part, "signed_on", None) is not None:
            found[f"{holder}.signed_on"] = part.signed_on
    return found
