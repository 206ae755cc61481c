"""Patient states folded in memory from events built here: the domain tier's fixtures.

No ledger, no database: each helper returns the next event of a small history, and `fold`
projects a patient state from them exactly as the store's reader would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.decision_events import AuthorizationIssued, DispenseConfirmed, DispenseRecorded
from domain.forms import ReproductiveFacts, Signatures
from domain.patient_events import (
    PatientEnrolled,
    PatientEvent,
    PatientSurveyCompleted,
    PregnancyTestRecorded,
    project_patient,
)
from domain.patient_state import PatientState
from domain.registry import aggregate_id
from domain.rules.context import DecisionTime
from domain.values import (
    Channel,
    Language,
    Menstruation,
    PregnancyTestResult,
    RiskCategory,
    Sex,
)

TZ = ZoneInfo("America/New_York")
ENROLLED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
PATIENT = "PT-DOMAIN"


def at(moment: datetime) -> DecisionTime:
    """A decision at `moment` in the program's zone, under the rule set in force."""
    return DecisionTime.in_force(moment, TZ)


class History:
    """A patient's events, numbered in order, built one fact at a time."""

    def __init__(self, sex: Sex = Sex.FEMALE, born: date = date(1990, 5, 1)) -> None:
        self.events: list[PatientEvent] = []
        facts = ReproductiveFacts(menstruation=Menstruation.REGULAR) if sex is Sex.FEMALE else None
        category = (
            RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL
            if sex is Sex.FEMALE
            else RiskCategory.ADULT_MALE
        )
        self.add(
            PatientEnrolled,
            ENROLLED,
            patient_id=PATIENT,
            prescriber_id="DR1",
            name="Test Patient",
            address="1 Main St",
            phone="555-0100",
            date_of_birth=born,
            sex=sex,
            diagnosis_icd10="C90.00",
            language=Language.ENGLISH,
            facts=facts,
            signatures=Signatures(
                patient_signed=True, prescriber_signed=True, all_statements_marked=True
            ),
            enrollment=1,
            risk_category=category,
        )

    def add(self, kind: type[PatientEvent], when: datetime, **fields: Any) -> History:
        """Append the next fact, recorded and occurred at `when`."""
        self.events.append(
            kind(
                originator_id=aggregate_id("patient", PATIENT),
                originator_version=len(self.events) + 1,
                timestamp=max(when, self.events[-1].timestamp) if self.events else when,
                occurred_at=when,
                **fields,
            )
        )
        return self

    def negative_test(self, collected: datetime, sensitivity: float = 25.0) -> History:
        """A negative pregnancy test collected at `collected`."""
        return self.add(
            PregnancyTestRecorded,
            collected,
            result=PregnancyTestResult.NEGATIVE,
            sensitivity_miu_per_ml=sensitivity,
        )

    def survey(self, completed: datetime) -> History:
        """A compliant patient survey."""
        return self.add(PatientSurveyCompleted, completed, compliant=True)

    def dispensed(self, when: datetime, number: str = "1") -> History:
        """An authorization issued, confirmed and dispensed at `when` (therapy started)."""
        self.add(
            AuthorizationIssued,
            when,
            ruleset_version="2026.1",
            inputs={},
            authorization_number=f"RA-{number}",
            prescriber_id="DR1",
            risk_category=self.state().enrollment.risk_category,
            daily_dose_mg=10,
            days_supply=28,
            refills=0,
            channel=Channel.ELECTRONIC,
            expires_at=when + timedelta(days=7),
            initial=True,
        )
        self.add(
            DispenseConfirmed,
            when,
            ruleset_version="2026.1",
            inputs={},
            confirmation_number=f"RC-{number}",
            authorization_number=f"RA-{number}",
            pharmacy_id="PH1",
            days_supply=28,
        )
        return self.add(
            DispenseRecorded,
            when,
            ruleset_version="2026.1",
            inputs={},
            confirmation_number=f"RC-{number}",
            authorization_number=f"RA-{number}",
            pharmacy_id="PH1",
            capsules=28,
            medication_guide_provided=True,
            counseled=True,
        )

    def state(self) -> PatientState:
        """The patient folded from every event so far."""
        return fold(self.events)


def fold(events: list[PatientEvent]) -> PatientState:
    """The patient state the events project to."""
    state = project_patient(None, events)
    assert state is not None
    return state


def utc(text: str) -> datetime:
    """An instant in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
