"""The ledger's read models: wiring the projections to its notification log and database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.errors import NotFound
from application.ledger import Ledger
from application.program_ids import program_id
from application.queries import eligibility_answer, eligibility_stands_until
from application.rebuild_rows import LogByAggregate
from application.remembered_eligibility import RememberedEligibility, judging_code, remember
from domain.registry import aggregate_id
from domain.rules.context import DecisionTime
from domain.schedule import due_items
from infra.row_cipher import row_sealer
from infra.views import ViewDatabase
from projections.eligibility import (
    EligibilityProjection,
    all_patients,
    load_participant,
    load_patient,
)
from projections.report import ReportProjection, monthly_report
from projections.runner import TRACKING_NAME, ProjectionRunner


class Views:
    """Read models of one ledger, caught up before every answer."""

    def __init__(
        self, ledger: Ledger, database_url: str | None = None, stop: int | None = None
    ) -> None:
        """The read models in the ledger's database, or (for `verify`) built afresh in
        another one from the log up to position `stop`."""
        self.ledger = ledger
        self.sealer = row_sealer(ledger.settings.cipher_key())
        """Seals the patient rows when an encryption key is configured."""
        self.database = ViewDatabase(database_url or ledger.settings.database_url)
        try:
            self.runner = ProjectionRunner(
                self.database,
                [
                    EligibilityProjection(sealer=self.sealer),
                    ReportProjection(ledger.settings.timezone),
                    RememberedEligibility(),
                ],
                read=lambda start, limit: ledger.notifications.read_rows(start, limit, stop=stop),
                decode=ledger.notifications.decode,
                by_aggregate=LogByAggregate(ledger, stop),
                stored=ledger.notifications.current_state,
            )
        except BaseException:
            self.database.close()
            raise

    def close(self) -> None:
        """Close the read-model connection."""
        self.database.close()

    def __enter__(self) -> Views:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decision_time(self, now: datetime) -> DecisionTime:
        """Decision time in the program's zone, with the rule set in force."""
        return DecisionTime.in_force(now, self.ledger.settings.timezone)

    def eligibility(
        self, patient_id: str, now: datetime, *, remember_answer: bool = False
    ) -> dict[str, Any]:
        """The eligibility answer from the read model (see `application.queries.eligibility`);
        with `remember_answer`, stored for the next query at the same log position, with the
        instant until which it stands (`application.remembered_eligibility`)."""
        patient_id = program_id(patient_id, "patient_id")
        self.runner.catch_up()
        with self.database.transaction() as cursor:
            tracked = cursor.fetchone(
                "SELECT position FROM projection_tracking WHERE name = ?", (TRACKING_NAME,)
            )
            patient = load_patient(cursor, patient_id, self.sealer)
            if patient is None:
                msg = f"Patient {patient_id} is not enrolled in the REMS."
                raise NotFound(msg)
            prescriber = load_participant(
                cursor, str(aggregate_id("prescriber", patient.prescriber_id))
            )
        at = self.decision_time(now)
        answer = eligibility_answer(patient, prescriber, at)
        if remember_answer and tracked is not None:
            until = eligibility_stands_until(patient, prescriber, at, answer)
            code = judging_code(self.ledger.settings)
            with self.database.transaction() as cursor:
                remember(cursor, int(tracked[0]), answer, until, code, self.sealer.seal)
        return answer

    def due(self, now: datetime) -> dict[str, Any]:
        """Per patient, what is due or overdue on the day of `now`; most overdue first."""
        self.runner.catch_up()
        with self.database.transaction() as cursor:
            patients = all_patients(cursor, self.sealer)
        at = self.decision_time(now)
        entries: list[dict[str, Any]] = []
        for patient in patients:
            items = due_items(patient, at)
            if items:
                entries.append(
                    {
                        "patient_id": patient.patient_id,
                        "prescriber_id": patient.prescriber_id,
                        "items": [i.model_dump(mode="json") for i in items],
                        "most_overdue_days": max(i.days_overdue for i in items),
                    }
                )
        entries.sort(key=lambda e: (-e["most_overdue_days"], e["patient_id"]))
        counts: dict[str, int] = {}
        for entry in entries:
            for item in entry["items"]:
                counts[item["rule"]] = counts.get(item["rule"], 0) + 1
        return {"on": at.day.isoformat(), "patients": entries, "counts_by_rule": counts}

    def report(self) -> dict[str, Any]:
        """Authorizations issued and denied per month, by category and rule."""
        self.runner.catch_up()
        with self.database.transaction() as cursor:
            return monthly_report(cursor)

    def contents(self) -> dict[str, dict[str, Any]]:
        """Everything the read models hold as read back (not caught up first): each patient's
        and participant's row by aggregate ID, and the monthly report."""
        with self.database.transaction() as cursor:
            patients = {
                str(aggregate_id("patient", p.patient_id)): p.model_dump(mode="json")
                for p in all_patients(cursor, self.sealer)
            }
            participants = {}
            for (key,) in cursor.fetchall("SELECT aggregate_id FROM eligibility_participants"):
                row = load_participant(cursor, str(key))
                participants[str(key)] = row.model_dump(mode="json") if row else None
            return {
                "eligibility_patients": patients,
                "eligibility_participants": participants,
                "report_authorizations": {"report": monthly_report(cursor)},
            }
