"""A driver for tests: runs a program through the ledger's command contract, event clock on.

Every call goes through `Ledger.execute` with a JSON-able command, exactly as a line of
`rems apply` would, so tests exercise parsing, the clock, the rules and the store together.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from application.ledger import Ledger
from domain.values import CounselingTopic
from tests.builders import enrollment_form

TZ = ZoneInfo("America/New_York")
ALL_TOPICS = [topic.value for topic in CounselingTopic]


def local(text: str) -> datetime:
    """A wall-clock time in the program's zone, e.g. `local("2026-03-13 09:30")`."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def rules(result: dict[str, Any]) -> list[str]:
    """The rule IDs of an error result's reasons, in order."""
    return [r["rule"] for r in result["error"]["reasons"]]


class Program:
    """A small REMS program: one clock, commands with sensible defaults."""

    def __init__(self, ledger: Ledger, start: datetime | None = None) -> None:
        self.ledger = ledger
        self.now = start or local("2026-03-01 09:00")

    # -- the clock -------------------------------------------------------------------
    def at(self, when: datetime | str) -> Program:
        """Move the clock to `when` (never backwards)."""
        moment = local(when) if isinstance(when, str) else when
        assert moment >= self.now, "the event clock never goes back"
        self.now = moment
        return self

    def advance(self, **delta: float) -> Program:
        """Move the clock forward by a timedelta's keywords (days=, hours=, minutes=)."""
        self.now = self.now + timedelta(**delta)
        return self

    @property
    def today(self) -> date:
        """The current date in the program's zone."""
        return self.now.astimezone(TZ).date()

    # -- raw -------------------------------------------------------------------------
    def run(self, command: str, **fields: Any) -> dict[str, Any]:
        """Execute one command at the current time; the `at` can be overridden."""
        body: dict[str, Any] = {"command": command, "at": self.now.isoformat()}
        body.update({k: _jsonable(v) for k, v in fields.items()})
        return self.ledger.execute(body)

    def ok(self, command: str, **fields: Any) -> dict[str, Any]:
        """Execute and insist on success."""
        result = self.run(command, **fields)
        assert result["ok"], result
        return result

    # -- participants ----------------------------------------------------------------
    def prescriber(self, prescriber_id: str = "DR1", certify: bool = True) -> None:
        """Register (and certify) a prescriber."""
        self.ok(
            "register_prescriber",
            prescriber_id=prescriber_id,
            name="Dr Test",
            address="1 Clinic Way, Summit NJ",
            fax="555-0100",
        )
        if certify:
            self.ok("certify_prescriber", prescriber_id=prescriber_id)

    def pharmacy(self, pharmacy_id: str = "PH1") -> None:
        """Certify a pharmacy."""
        self.ok("certify_pharmacy", pharmacy_id=pharmacy_id, name="Pharmacy", address="2 Main St")

    # -- patients --------------------------------------------------------------------
    def enroll(
        self, patient_id: str = "PAT1", sex: str = "female", **overrides: Any
    ) -> dict[str, Any]:
        """Enroll a patient with a complete form (adult, competent, regular menses if female)."""
        form = enrollment_form(patient_id, sex=sex, **overrides)
        return self.run("enroll_patient", **form)

    def counsel(self, patient_id: str = "PAT1", topics: list[str] | None = None) -> dict[str, Any]:
        """Record counseling (all nine topics by default)."""
        return self.ok(
            "record_counseling",
            patient_id=patient_id,
            prescriber_id="DR1",
            topics=ALL_TOPICS if topics is None else topics,
        )

    def contraception(
        self,
        patient_id: str = "PAT1",
        methods: list[str] | None = None,
        started_on: date | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record a regimen (IUD + male condom, started 40 days ago, by default)."""
        return self.ok(
            "record_contraception",
            patient_id=patient_id,
            methods=["iud", "male_condom"] if methods is None else methods,
            started_on=started_on or self.today - timedelta(days=40),
            **extra,
        )

    def test(
        self,
        patient_id: str = "PAT1",
        collected_at: datetime | None = None,
        result: str = "negative",
        sensitivity: float = 25,
    ) -> dict[str, Any]:
        """Record a pregnancy test (collected now by default)."""
        return self.run(
            "record_pregnancy_test",
            patient_id=patient_id,
            collected_at=collected_at or self.now,
            result=result,
            sensitivity_miu_per_ml=sensitivity,
        )

    def survey(self, patient_id: str = "PAT1", compliant: bool = True) -> dict[str, Any]:
        """Record a patient survey."""
        return self.ok("record_patient_survey", patient_id=patient_id, compliant=compliant)

    def authorize(self, patient_id: str = "PAT1", **overrides: Any) -> dict[str, Any]:
        """Request an authorization (DR1, 28 days, no refills, electronic by default)."""
        request: dict[str, Any] = {
            "patient_id": patient_id,
            "prescriber_id": "DR1",
            "daily_dose_mg": 10,
            "days_supply": 28,
            "refills": 0,
            "channel": "electronic",
        }
        request.update(overrides)
        return self.run("request_authorization", **request)

    def confirm(
        self, authorization_number: str, patient_id: str = "PAT1", **overrides: Any
    ) -> dict[str, Any]:
        """Request a dispense confirmation (PH1, 28 days by default)."""
        request: dict[str, Any] = {
            "pharmacy_id": "PH1",
            "patient_id": patient_id,
            "authorization_number": authorization_number,
            "days_supply": 28,
        }
        request.update(overrides)
        return self.run("request_dispense_confirmation", **request)

    def dispense(self, confirmation_number: str, **overrides: Any) -> dict[str, Any]:
        """Record a dispense (PH1, guide given, counseled, 28 capsules by default)."""
        request: dict[str, Any] = {
            "pharmacy_id": "PH1",
            "confirmation_number": confirmation_number,
            "medication_guide_provided": True,
            "counseled": True,
            "capsules": 28,
        }
        request.update(overrides)
        return self.run("record_dispense", **request)

    # -- whole steps -----------------------------------------------------------------
    def participants(self) -> Program:
        """DR1 certified and PH1 certified."""
        self.prescriber()
        self.pharmacy()
        return self

    def ready_frp(self, patient_id: str = "PAT1", **enroll: Any) -> Program:
        """An FRP enrolled 12 days ago with counseling, contraception, survey and both initial
        tests, ready for an initial authorization now. Leaves the clock where it was + 12 days."""
        assert self.enroll(patient_id, **enroll)["ok"]
        self.counsel(patient_id)
        self.contraception(patient_id)
        assert self.test(patient_id)["ok"]
        self.advance(days=12)
        assert self.test(patient_id, collected_at=self.now - timedelta(hours=2))["ok"]
        self.survey(patient_id)
        return self

    def ready_male(self, patient_id: str = "PAT1", **enroll: Any) -> Program:
        """An adult male enrolled and counseled, ready for an initial authorization."""
        assert self.enroll(patient_id, sex="male", **enroll)["ok"]
        self.counsel(patient_id)
        return self

    def fill(self, patient_id: str = "PAT1") -> dict[str, str]:
        """Authorize, confirm and dispense now; returns the numbers."""
        auth = self.authorize(patient_id)
        assert auth["ok"], auth
        confirmation = self.confirm(auth["authorization_number"], patient_id)
        assert confirmation["ok"], confirmation
        dispense = self.dispense(confirmation["confirmation_number"])
        assert dispense["ok"], dispense
        return {
            "authorization_number": auth["authorization_number"],
            "confirmation_number": confirmation["confirmation_number"],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
