"""Coming of age on the topics (issue 12, point 2): a category change sent once the day has come.

No date from which a birth date follows is published in advance (the former `adult_from` was the
birth date plus 18 years). A consumer folding the rules still needs the day a minor's category
changes by age alone, so the relay sends a `RiskCategoryChangedByAge` message on `rems.patients`
(the patient's key, after the enrollment) once the ledger's time has reached that day:
`{"previous_risk_category", "risk_category"}`, `occurred_at` the first instant of the day.

The relay keeps each minor's due day in the ledger's database (`relay_age_changes`), sealed with
the read models' cipher when an encryption key is configured; it is written when the enrollment
is published and deleted once the change is acknowledged. The event ID is derived from the
aggregate and the day, so a re-sent change is dropped by consumers like any repeated event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from consumers.envelope import AGE_CHANGE_TYPE, TOPICS, Envelope
from consumers.pseudonyms import Pseudonyms
from domain.calendar import age_on, birthday, start_of_day
from domain.categories import category_of
from domain.patient_events import PatientEnrolled
from domain.patient_state import PatientState
from domain.ruleset import ruleset_in_force
from infra.row_cipher import PlainRows, RowCipher
from infra.views import ViewDatabase

AGE_CHANGE_TOPIC = TOPICS["patients"]


class AgeChanges:
    """The minors whose coming of age is still to be published (table `relay_age_changes`)."""

    def __init__(self, database: ViewDatabase, sealer: RowCipher | PlainRows) -> None:
        self.database = database
        self.sealer = sealer
        with database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS relay_age_changes "
                "(aggregate_id TEXT PRIMARY KEY, due TEXT NOT NULL)"
            )

    def note(self, *events: PatientEnrolled) -> None:
        """Remember when each enrolled minor comes of age and forget a patient enrolled as an
        adult, in log order, in one transaction."""
        with self.database.transaction() as cursor:
            for event in events:
                on = event.occurred_at.date()
                adult_age = ruleset_in_force(on).adult_age
                key = str(event.originator_id)
                if age_on(event.date_of_birth, on) >= adult_age:
                    cursor.execute("DELETE FROM relay_age_changes WHERE aggregate_id = ?", (key,))
                    continue
                due = birthday(event.date_of_birth, adult_age).isoformat()
                cursor.execute(
                    "INSERT INTO relay_age_changes (aggregate_id, due) VALUES (?, ?) "
                    "ON CONFLICT (aggregate_id) DO UPDATE SET due = excluded.due",
                    (key, self.sealer.seal(due)),
                )

    def due_by(self, day: date) -> list[tuple[UUID, date]]:
        """The (aggregate, day) of every change due on or before `day`."""
        with self.database.transaction() as cursor:
            rows = cursor.fetchall("SELECT aggregate_id, due FROM relay_age_changes")
        found = [(UUID(str(a)), date.fromisoformat(self.sealer.open(str(d)))) for a, d in rows]
        return sorted((a, d) for a, d in found if d <= day)

    def done(self, aggregate: UUID, day: date) -> None:
        """The change of that day was acknowledged (a re-enrollment may have moved it since)."""
        key = str(aggregate)
        with self.database.transaction() as cursor:
            row = cursor.fetchone(
                "SELECT due FROM relay_age_changes WHERE aggregate_id = ?", (key,)
            )
            if row is not None and self.sealer.open(str(row[0])) == day.isoformat():
                cursor.execute("DELETE FROM relay_age_changes WHERE aggregate_id = ?", (key,))


def age_change_message(
    aggregate: UUID,
    day: date,
    patient: PatientState,
    pseudonyms: Pseudonyms,
    tz: ZoneInfo,
    recorded_at: datetime,
    position: int,
) -> Envelope | None:
    """The `RiskCategoryChangedByAge` message of a patient on a day (None: no change)."""
    ruleset = ruleset_in_force(day)
    before = category_of(patient, day - timedelta(days=1), ruleset)
    after = category_of(patient, day, ruleset)
    if before is after:
        return None
    pseudonym = pseudonyms.of(aggregate)
    return Envelope(
        event_id=str(uuid5(pseudonym, f"{AGE_CHANGE_TYPE}:{day.isoformat()}")),
        type=AGE_CHANGE_TYPE,
        aggregate_id=str(pseudonym),
        aggregate_version=patient.version,
        occurred_at=start_of_day(day, tz),
        recorded_at=recorded_at,
        position=position,
        payload={"previous_risk_category": before.value, "risk_category": after.value},
    )


PatientLookup = Callable[[UUID], PatientState | None]
"""A patient's current state by store aggregate ID (the relay reads the ledger's)."""
