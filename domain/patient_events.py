"""Facts about a patient: enrollment, counseling, contraception, tests, surveys, safety.

Each event only records a fact and folds it into the state (`apply`); every check happens in
the application before the event is created, so replaying history never re-judges old facts.
The base and the fold live in `domain.patient_fold` (a query on a stored state needs no event
class).
"""

from __future__ import annotations

from datetime import date

from domain.forms import ReproductiveFacts, Signatures
from domain.patient_fold import PatientEvent as PatientEvent
from domain.patient_fold import project_patient as project_patient
from domain.patient_state import (
    Contraception,
    Enrollment,
    PatientState,
    PregnancyReport,
    PregnancyTest,
    Survey,
)
from domain.pregnancy_cases import with_pregnancy_case
from domain.values import (
    CapsuleReturnPlace,
    CounselingTopic,
    Language,
    Method,
    PregnancyResolution,
    PregnancyTestResult,
    RiskCategory,
    Sex,
)


class PatientEnrolled(PatientEvent):
    """The Patient-Physician Agreement Form was accepted (E1-E5). Holds PHI: never published."""

    patient_id: str
    prescriber_id: str
    name: str
    address: str
    phone: str
    date_of_birth: date
    sex: Sex
    diagnosis_icd10: str
    language: Language
    facts: ReproductiveFacts | None
    signatures: Signatures
    enrollment: int
    """1 for the first enrollment, then 2, 3... on re-enrollment after E6."""
    risk_category: RiskCategory
    """The category derived from the form's facts on the enrollment date (R1, R2)."""

    def apply(self, state: PatientState | None) -> PatientState:
        enrollment = Enrollment(
            number=self.enrollment,
            enrolled_at=self.occurred_at,
            prescriber_id=self.prescriber_id,
            risk_category=self.risk_category,
        )
        common = {
            "version": self.originator_version,
            "head_hash": self.hash,
            "prescriber_id": self.prescriber_id,
            "facts": self.facts,
            "frp_since": self.occurred_at if self.risk_category.is_frp else None,
            "counseling_topics": frozenset(),
            "surveys": (),
        }
        if state is None:
            return PatientState(
                id=self.originator_id,
                patient_id=self.patient_id,
                sex=self.sex,
                date_of_birth=self.date_of_birth,
                diagnosis_icd10=self.diagnosis_icd10,
                enrollments=(enrollment,),
                **common,
            )
        return state.model_copy(
            update={
                **common,
                "enrollments": (*state.enrollments, enrollment),
                "diagnosis_icd10": self.diagnosis_icd10,
                "date_of_birth": self.date_of_birth,
            }
        )


class ReproductiveStatusUpdated(PatientEvent):
    """The prescriber re-stated the reproductive facts (R3): `facts` is the whole new set."""

    facts: ReproductiveFacts
    became_frp: bool
    """The update turned the patient into a female of reproductive potential."""

    def fold(self, state: PatientState) -> PatientState:
        update: dict[str, object] = {"facts": self.facts}
        if self.became_frp:
            update["frp_since"] = self.occurred_at
        return state.model_copy(update=update)


class CounselingRecorded(PatientEvent):
    """The prescriber counseled the patient on these topics (K1)."""

    prescriber_id: str
    topics: tuple[CounselingTopic, ...]

    def fold(self, state: PatientState) -> PatientState:
        return state.model_copy(
            update={"counseling_topics": state.counseling_topics | frozenset(self.topics)}
        )


class ContraceptionRecorded(PatientEvent):
    """The patient's whole current contraceptive regimen (C1-C4); replaces the previous one."""

    abstinence: bool
    methods: tuple[Method, ...]
    started_on: date
    hormonal_contraindicated: bool

    def fold(self, state: PatientState) -> PatientState:
        regimen = Contraception(
            abstinence=self.abstinence,
            methods=self.methods,
            started_on=self.started_on,
            hormonal_contraindicated=self.hormonal_contraindicated,
        )
        return state.model_copy(update={"contraception": regimen})


class PregnancyTestRecorded(PatientEvent):
    """A pregnancy test result; `occurred_at` is when the sample was collected. A positive one
    opens a pregnancy case (T7) suspected on `suspected_on`, its M2 reports still missing."""

    result: PregnancyTestResult
    sensitivity_miu_per_ml: float
    suspected_on: date | None = None
    """For a positive test: its collection date in the program's zone (the case it opens)."""

    def fold(self, state: PatientState) -> PatientState:
        test = PregnancyTest(
            collected_at=self.occurred_at,
            result=self.result,
            sensitivity_miu_per_ml=self.sensitivity_miu_per_ml,
            recorded_at=self.timestamp,
        )
        update: dict[str, object] = {"tests": (*state.tests, test)}
        if self.result is PregnancyTestResult.POSITIVE:
            if state.positive_test_open_since is None:
                update["positive_test_open_since"] = self.occurred_at
            case = PregnancyReport(
                suspected_on=self.suspected_on or self.occurred_at.date(),
                reported_to_medwatch=False,
                reported_to_rems=False,
                recorded_at=self.timestamp,
            )
            # A new positive test is never absorbed by a resolved case: it blocks again (T7).
            update["pregnancy_reports"] = with_pregnancy_case(
                state.pregnancy_reports, case, join_same_date=False
            )
        return state.model_copy(update=update)


class PatientSurveyCompleted(PatientEvent):
    """The patient completed a survey (S2, S3). `concerns` is free text kept in the ledger."""

    compliant: bool
    concerns: str | None = None

    def fold(self, state: PatientState) -> PatientState:
        survey = Survey(
            completed_at=self.occurred_at,
            compliant=self.compliant,
            enrollment=state.enrollment.number,
        )
        return state.model_copy(update={"surveys": (*state.surveys, survey)})


class PregnancyReported(PatientEvent):
    """A suspected pregnancy or embryo-fetal exposure (T7, M2)."""

    suspected_on: date
    reported_to_medwatch: bool
    reported_to_rems: bool

    def fold(self, state: PatientState) -> PatientState:
        report = PregnancyReport(
            suspected_on=self.suspected_on,
            reported_to_medwatch=self.reported_to_medwatch,
            reported_to_rems=self.reported_to_rems,
            recorded_at=self.timestamp,
        )
        reports = with_pregnancy_case(state.pregnancy_reports, report, join_same_date=True)
        return state.model_copy(update={"pregnancy_reports": reports})


class PregnancyReportResolved(PatientEvent):
    """Compliance closed every open pregnancy report and positive test (the only T7 clearance)."""

    resolution: PregnancyResolution
    evidence: str
    resolved_on: date

    def fold(self, state: PatientState) -> PatientState:
        reports = tuple(
            r
            if r.resolution is not None
            else r.model_copy(
                update={"resolution": self.resolution, "resolved_on": self.resolved_on}
            )
            for r in state.pregnancy_reports
        )
        return state.model_copy(
            update={"pregnancy_reports": reports, "positive_test_open_since": None}
        )


class MenstrualAbnormalityRecorded(PatientEvent):
    """A missed period or abnormal bleeding (T8); cleared by a later negative test."""

    noted_on: date

    def fold(self, state: PatientState) -> PatientState:
        return state.model_copy(update={"abnormalities": (*state.abnormalities, self.timestamp)})


class TherapyDiscontinued(PatientEvent):
    """The last dose was taken (X1 follows)."""

    last_dose_on: date
    reason: str

    def fold(self, state: PatientState) -> PatientState:
        return state.model_copy(update={"discontinued_on": self.last_dose_on})


class CbcRecorded(PatientEvent):
    """A complete blood count was drawn (M1)."""

    def fold(self, state: PatientState) -> PatientState:
        return state.model_copy(update={"cbcs": (*state.cbcs, self.occurred_at)})


class CapsulesReturned(PatientEvent):
    """Unused capsules came back for disposal (X1)."""

    capsules: int
    returned_to: CapsuleReturnPlace

    def fold(self, state: PatientState) -> PatientState:
        entry = (self.capsules, self.returned_to, self.occurred_at)
        return state.model_copy(update={"capsule_returns": (*state.capsule_returns, entry)})


class PrescriberChanged(PatientEvent):
    """Another certified prescriber became the prescriber of record (P5)."""

    prescriber_id: str
    previous_prescriber_id: str

    def fold(self, state: PatientState) -> PatientState:
        return state.model_copy(update={"prescriber_id": self.prescriber_id})
