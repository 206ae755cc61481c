"""The HTTP API driven as its client systems drive it, for every tier that talks to it: `Http`
(FastAPI's TestClient over a ledger, tokens per role, the event clock advanced by hand), the
role names, and an adult FRP's enrollment form (with PHI)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from application.ledger import Ledger
from application.unit import Unit
from entrypoints.http.app import ApiState, create_app
from entrypoints.http.tokens import Role
from tests.builders import enrollment_form
from tests.program import ALL_TOPICS, local

START = local("2026-03-01 09:00")
COMPLIANCE = "compliance:S1"
AUDITOR = "auditor:A1"
DR1 = "prescriber:DR1"
DR2 = "prescriber:DR2"
PH1 = "pharmacy:PH1"
PH2 = "pharmacy:PH2"


def jsonable(value: Any) -> Any:
    """Dates and datetimes as ISO strings, recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def frp_form(patient_id: str = "PAT1", prescriber_id: str = "DR1") -> dict[str, Any]:
    """A complete enrollment form of an adult female of reproductive potential (with PHI)."""
    return enrollment_form(
        patient_id,
        prescriber_id,
        name=f"Jane Q Patient {patient_id}",
        address="77 Sunset Boulevard, Springfield",
        phone="555-867-5309",
        date_of_birth="1987-06-15",
    )


class Http:
    """An API app over a ledger: a TestClient, a token per `role:subject`, and a program clock
    that stamps every command's `at` (the ledger runs the event clock)."""

    def __init__(self, ledger: Ledger, start: datetime = START) -> None:
        self.ledger = ledger
        self.app = create_app(ledger=ledger)
        self.client = TestClient(self.app)
        self.state: ApiState = self.app.state.api
        self.now = start
        self._tokens: dict[str, tuple[str, str]] = {}

    def token(self, who: str) -> str:
        """The bearer token of `role:subject` (created on first use)."""
        if who not in self._tokens:
            role, _, subject = who.partition(":")
            self._tokens[who] = self.state.tokens.create(Role(role), subject)
        return self._tokens[who][1]

    def token_id(self, who: str) -> str:
        """The token ID of `role:subject`."""
        self.token(who)
        return self._tokens[who][0]

    def auth(self, who: str) -> dict[str, str]:
        """The Authorization header of `role:subject`."""
        return {"Authorization": f"Bearer {self.token(who)}"}

    def advance(self, **delta: float) -> None:
        """Move the program clock forward."""
        self.now += timedelta(**delta)

    def body(self, command: str, /, **fields: Any) -> dict[str, Any]:
        """The JSON body of a command at the current time (no `command` field: the path names
        it)."""
        return {"at": self.now.isoformat(), **jsonable(fields)}

    def post(
        self, who: str, command: str, /, headers: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        """POST a command as `role:subject`."""
        return self.client.post(
            f"/v1/commands/{command}",
            json=self.body(command, **fields),
            headers={**self.auth(who), **(headers or {})},
        )

    def ok(self, who: str, command: str, /, **fields: Any) -> dict[str, Any]:
        """POST and insist on 200 ok."""
        response = self.post(who, command, **fields)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        assert result["ok"] is True, result
        return result

    def get(self, who: str, path: str, **params: str) -> httpx.Response:
        """GET a query as `role:subject`."""
        return self.client.get(path, params=params, headers=self.auth(who))

    def log_size(self) -> int:
        """How many events the ledger holds (its notification log's end)."""
        return self.ledger.notifications.end()

    def patient_versions(self, patient_id: str) -> int:
        """How many events the patient's aggregate holds, read from the store."""
        return len(self.ledger.stored_events(Unit.patient_aggregate_id(patient_id)))

    def participants(self) -> None:
        """DR1 and DR2 registered and certified, PH1 and PH2 certified, by compliance."""
        for prescriber in ("DR1", "DR2"):
            self.ok(
                COMPLIANCE,
                "register_prescriber",
                prescriber_id=prescriber,
                name=f"Dr {prescriber}",
                address="1 Clinic Way, Summit NJ",
                fax="555-0100",
            )
            self.ok(COMPLIANCE, "certify_prescriber", prescriber_id=prescriber)
        for pharmacy in ("PH1", "PH2"):
            self.ok(
                COMPLIANCE,
                "certify_pharmacy",
                pharmacy_id=pharmacy,
                name="Pharmacy",
                address="2 St",
            )

    def ready_frp(self, patient_id: str = "PAT1", prescriber: str = DR1) -> None:
        """Enroll an FRP and record counseling, contraception, survey and both initial tests;
        the clock ends 12 days later, ready for an initial authorization."""
        subject = prescriber.partition(":")[2]
        self.ok(prescriber, "enroll_patient", **frp_form(patient_id, subject))
        self.ok(
            prescriber,
            "record_counseling",
            patient_id=patient_id,
            prescriber_id=subject,
            topics=ALL_TOPICS,
        )
        self.ok(
            prescriber,
            "record_contraception",
            patient_id=patient_id,
            methods=["iud", "male_condom"],
            started_on=(self.now - timedelta(days=40)).date(),
        )
        self.ok(prescriber, "record_pregnancy_test", **self.test_fields(patient_id, self.now))
        self.advance(days=12)
        test_time = self.now - timedelta(hours=2)
        self.ok(prescriber, "record_pregnancy_test", **self.test_fields(patient_id, test_time))
        self.ok(prescriber, "record_patient_survey", patient_id=patient_id, compliant=True)

    @staticmethod
    def test_fields(patient_id: str, collected_at: datetime) -> dict[str, Any]:
        """A negative pregnancy test of 25 mIU/mL."""
        return {
            "patient_id": patient_id,
            "collected_at": collected_at,
            "result": "negative",
            "sensitivity_miu_per_ml": 25,
        }

    def authorize(self, patient_id: str = "PAT1", prescriber: str = DR1) -> dict[str, Any]:
        """Request an authorization (28 days, no refills, electronic); insist on it."""
        return self.ok(
            prescriber,
            "request_authorization",
            patient_id=patient_id,
            prescriber_id=prescriber.partition(":")[2],
            daily_dose_mg=10,
            days_supply=28,
            refills=0,
            channel="electronic",
        )

    def close(self) -> None:
        """Close the client, then the app's ledger and token database."""
        self.client.close()
        self.state.close()
