"""The patient aggregate's state: everything the rules read, folded from the patient's events."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, field_serializer

from domain.base import Frozen
from domain.chain import GENESIS
from domain.forms import ReproductiveFacts
from domain.values import (
    CapsuleReturnPlace,
    CounselingTopic,
    DuplicateFinding,
    Method,
    PregnancyResolution,
    PregnancyTestResult,
    RiskCategory,
    Sex,
)


class Enrollment(Frozen):
    """One enrollment of the patient (re-enrollment after E6 starts a new one)."""

    number: int
    enrolled_at: AwareDatetime
    prescriber_id: str
    risk_category: RiskCategory
    """The category derived from the form when it was accepted."""


class PregnancyTest(Frozen):
    """A recorded pregnancy test (T1-T3, T6-T8)."""

    collected_at: AwareDatetime
    result: PregnancyTestResult
    sensitivity_miu_per_ml: float
    recorded_at: AwareDatetime


class Survey(Frozen):
    """A patient survey (S2, S3), belonging to one enrollment."""

    completed_at: AwareDatetime
    compliant: bool
    enrollment: int


class Contraception(Frozen):
    """The patient's whole current regimen (C1-C4); each record replaces the previous."""

    abstinence: bool
    methods: tuple[Method, ...]
    started_on: date
    hormonal_contraindicated: bool


class AuthorizationStatus(StrEnum):
    """Where an authorization number stands (A4)."""

    ISSUED = "issued"
    CONFIRMED = "confirmed"
    VOIDED = "voided"


class Authorization(Frozen):
    """An issued authorization number."""

    number: str
    prescriber_id: str
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    risk_category: RiskCategory
    days_supply: int
    initial: bool
    enrollment: int
    status: AuthorizationStatus = AuthorizationStatus.ISSUED


class ConfirmationStatus(StrEnum):
    """Where a dispense confirmation number stands (A4)."""

    OPEN = "open"
    DISPENSED = "dispensed"
    VOIDED = "voided"


class Confirmation(Frozen):
    """A dispense confirmation number given to a pharmacy (D1)."""

    number: str
    authorization_number: str
    pharmacy_id: str
    confirmed_at: AwareDatetime
    days_supply: int
    status: ConfirmationStatus = ConfirmationStatus.OPEN


class Dispense(Frozen):
    """A recorded dispense (therapy start for T4, M1, E6)."""

    confirmation_number: str
    pharmacy_id: str
    dispensed_at: AwareDatetime
    capsules: int
    enrollment: int
    medication_guide_provided: bool
    counseled: bool


class PregnancyReport(Frozen):
    """A suspected pregnancy (T7, M2)."""

    suspected_on: date
    reported_to_medwatch: bool
    reported_to_rems: bool
    recorded_at: AwareDatetime
    resolution: PregnancyResolution | None = None
    resolved_on: date | None = None


class DuplicateFlag(Frozen):
    """An E8 possible duplicate: the same person may be enrolled as `other_patient_id`."""

    other_patient_id: str
    """The earlier record with the same folded name and birth date."""
    flagged_at: AwareDatetime
    finding: DuplicateFinding | None = None
    """Compliance's finding (None while under review)."""
    reviewed_at: AwareDatetime | None = None

    @property
    def blocks(self) -> bool:
        """Under review, or found to be the same person (E8 for good)."""
        return self.finding is not DuplicateFinding.DISTINCT_PEOPLE


class PatientState(Frozen):
    """Current state of one patient, as the rules need it. No name, address or phone here."""

    id: UUID
    version: int
    patient_id: str
    sex: Sex
    date_of_birth: date
    diagnosis_icd10: str
    prescriber_id: str
    """The prescriber of record (P5)."""
    head_hash: str = GENESIS
    """Hash of the latest event (the chain continues from it)."""
    enrollments: tuple[Enrollment, ...] = ()
    facts: ReproductiveFacts | None = None
    frp_since: AwareDatetime | None = None
    """When the patient last became a female of reproductive potential by a recorded fact
    (enrollment or an R3 change); prescriptions are initial until a dispense after it."""
    counseling_topics: frozenset[CounselingTopic] = frozenset()
    contraception: Contraception | None = None
    tests: tuple[PregnancyTest, ...] = ()
    surveys: tuple[Survey, ...] = ()
    authorizations: tuple[Authorization, ...] = ()
    confirmations: tuple[Confirmation, ...] = ()
    dispenses: tuple[Dispense, ...] = ()
    pregnancy_reports: tuple[PregnancyReport, ...] = ()
    positive_test_open_since: AwareDatetime | None = None
    """Set by a positive test; cleared only by resolving the pregnancy (T7)."""
    abnormalities: tuple[AwareDatetime, ...] = ()
    """Recording instants of menstrual abnormalities (T8)."""
    discontinued_on: date | None = None
    cbcs: tuple[AwareDatetime, ...] = ()
    capsule_returns: tuple[tuple[int, CapsuleReturnPlace, AwareDatetime], ...] = ()
    duplicate_flags: tuple[DuplicateFlag, ...] = ()
    """E8 possible duplicates of this (newer) record."""
    duplicates_noted: tuple[str, ...] = ()
    """Newer records compliance found to be this same person (E8, `same_person`)."""

    def duplicate_flag(self, other_patient_id: str) -> DuplicateFlag | None:
        """The E8 flag naming that earlier record, if any."""
        flags = (f for f in self.duplicate_flags if f.other_patient_id == other_patient_id)
        return next(flags, None)

    @field_serializer("counseling_topics", when_used="json")
    def _sorted_topics(self, topics: frozenset[CounselingTopic]) -> list[str]:
        # A set's order depends on how it was built; the read model's rows must not (a rebuild
        # writes the same bytes as the incremental run).
        return sorted(topic.value for topic in topics)

    @property
    def enrollment(self) -> Enrollment:
        """The current (latest) enrollment."""
        return self.enrollments[-1]

    def authorization(self, number: str) -> Authorization | None:
        """The patient's authorization with that number, if any."""
        return next((a for a in self.authorizations if a.number == number), None)

    def confirmation(self, number: str) -> Confirmation | None:
        """The patient's confirmation with that number, if any."""
        return next((c for c in self.confirmations if c.number == number), None)

    def dispenses_in_current_enrollment(self) -> tuple[Dispense, ...]:
        """Dispenses recorded since the current enrollment began."""
        return tuple(d for d in self.dispenses if d.enrollment == self.enrollment.number)

    @property
    def open_pregnancy_reports(self) -> tuple[PregnancyReport, ...]:
        """Pregnancy reports not yet resolved by compliance."""
        return tuple(r for r in self.pregnancy_reports if r.resolution is None)

    @property
    def pregnancy_open(self) -> bool:
        """A positive test or an unresolved suspected pregnancy (T7 applies to females)."""
        return self.positive_test_open_since is not None or bool(self.open_pregnancy_reports)
