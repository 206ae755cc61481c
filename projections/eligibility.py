"""The eligibility read model: each patient's folded state and each participant's standing.

Rows hold the same frozen states the aggregates fold to (as JSON), so the eligibility answer is
the rule engine run on a row, not a replay of the aggregate; `rems due` reads the same rows.
A patient's row holds no name, address or phone (the state has none); with a row sealer the
state (birth date, diagnosis, facts) is stored encrypted.
"""

from __future__ import annotations

from domain.base import LedgerEvent
from domain.participants import ParticipantEvent, ParticipantState
from domain.patient_events import PatientEvent
from domain.patient_state import PatientState
from projections.view import Cursor, RowSealer


class EligibilityProjection:
    """Tables `eligibility_patients` and `eligibility_participants`."""

    def __init__(self, sealer: RowSealer | None = None) -> None:
        self.sealer = sealer
        """Seals each patient's state (None: stored as JSON text)."""

    def create_tables(self, cursor: Cursor) -> None:
        """Create the tables if missing."""
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS eligibility_patients "
            "(aggregate_id TEXT PRIMARY KEY, patient_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS eligibility_participants "
            "(aggregate_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
        )

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop both tables."""
        cursor.execute("DROP TABLE IF EXISTS eligibility_patients")
        cursor.execute("DROP TABLE IF EXISTS eligibility_participants")

    def process(self, event: LedgerEvent, cursor: Cursor) -> None:
        """Fold a patient's or participant's event into its row."""
        key = str(event.originator_id)
        if isinstance(event, PatientEvent):
            row = cursor.fetchone(
                "SELECT state FROM eligibility_patients WHERE aggregate_id = ?", (key,)
            )
            patient = _patient(row[0], self.sealer) if row else None
            folded = event.apply(patient)
            state = folded.model_dump_json()
            cursor.execute(
                "INSERT INTO eligibility_patients (aggregate_id, patient_id, state) "
                "VALUES (?, ?, ?) ON CONFLICT (aggregate_id) DO UPDATE SET state = excluded.state",
                (key, folded.patient_id, self.sealer.seal(state) if self.sealer else state),
            )
        elif isinstance(event, ParticipantEvent):
            row = cursor.fetchone(
                "SELECT state FROM eligibility_participants WHERE aggregate_id = ?", (key,)
            )
            participant = ParticipantState.model_validate_json(row[0]) if row else None
            cursor.execute(
                "INSERT INTO eligibility_participants (aggregate_id, state) VALUES (?, ?) "
                "ON CONFLICT (aggregate_id) DO UPDATE SET state = excluded.state",
                (key, event.apply(participant).model_dump_json()),
            )


def _patient(stored: str, sealer: RowSealer | None) -> PatientState:
    return PatientState.model_validate_json(sealer.open(stored) if sealer else stored)


def load_patient(
    cursor: Cursor, patient_id: str, sealer: RowSealer | None = None
) -> PatientState | None:
    """A patient's row (opened by the sealer when rows are sealed)."""
    row = cursor.fetchone(
        "SELECT state FROM eligibility_patients WHERE patient_id = ?", (patient_id,)
    )
    return _patient(row[0], sealer) if row else None


def load_participant(cursor: Cursor, aggregate_id: str) -> ParticipantState | None:
    """A prescriber's or pharmacy's row."""
    row = cursor.fetchone(
        "SELECT state FROM eligibility_participants WHERE aggregate_id = ?", (aggregate_id,)
    )
    return ParticipantState.model_validate_json(row[0]) if row else None


def all_patients(cursor: Cursor, sealer: RowSealer | None = None) -> list[PatientState]:
    """Every patient row, by program ID."""
    rows = cursor.fetchall("SELECT state FROM eligibility_patients ORDER BY patient_id")
    return [_patient(r[0], sealer) for r in rows]
