"""The eligibility read model: each patient's folded state and each participant's standing.

Rows hold the same frozen states the aggregates fold to (as JSON), so the eligibility answer is
the rule engine run on a row, not a replay of the aggregate; `rems due` reads the same rows.

A batch folds each aggregate's events in memory and writes its row once; the states written
are kept (up to `KEPT`, least recently used dropped) so the next batch does not read them back,
until the runner says to forget them. A patient's row holds no name, address or phone (the
state has none); with a row sealer the state (birth date, diagnosis, facts) is stored encrypted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from domain.base import LedgerEvent
from domain.participants import ParticipantEvent, ParticipantState
from domain.patient_fold import PatientEvent
from domain.patient_state import PatientState
from projections.view import Cursor, RowSealer

KEPT = 20_000
"""Rows kept in memory between batches."""

_PATIENT_UPSERT = (
    "INSERT INTO eligibility_patients (aggregate_id, patient_id, state) VALUES (?, ?, ?) "
    "ON CONFLICT (aggregate_id) DO UPDATE SET state = excluded.state"
)
_PARTICIPANT_UPSERT = (
    "INSERT INTO eligibility_participants (aggregate_id, state) VALUES (?, ?) "
    "ON CONFLICT (aggregate_id) DO UPDATE SET state = excluded.state"
)


class EligibilityProjection:
    """Tables `eligibility_patients` and `eligibility_participants`."""

    event_types: tuple[type[LedgerEvent], ...] = (PatientEvent, ParticipantEvent)
    starts_from: tuple[type[Any], ...] = (PatientState,)
    stored_types: tuple[type[LedgerEvent], ...] = ()
    """Folds decoded events only."""

    def __init__(self, kept: int = KEPT, sealer: RowSealer | None = None) -> None:
        self.kept = kept
        self.sealer = sealer
        """Seals each patient's state (None: stored as JSON text)."""
        self._patients: OrderedDict[str, PatientState] = OrderedDict()
        self._participants: OrderedDict[str, ParticipantState] = OrderedDict()
        self._pending_patients: dict[str, PatientState] = {}
        self._pending_participants: dict[str, ParticipantState] = {}
        """Folded since the last flush, not yet written."""

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

    def forget(self) -> None:
        """Drop the kept rows, and the rows folded but not yet written."""
        self._patients.clear()
        self._participants.clear()
        self._pending_patients.clear()
        self._pending_participants.clear()

    def take_stored(self, event_type: type[LedgerEvent], state: Mapping[str, Any]) -> bool:
        """Never called: it takes no stored data."""
        raise NotImplementedError

    def start(self, aggregate_id: str, state: Any) -> None:
        """A patient's row as `state` (a snapshot's), before the events after its version."""
        assert isinstance(state, PatientState)
        self._pending_patients[aggregate_id] = state

    def process_batch(self, events: Sequence[LedgerEvent], cursor: Cursor) -> None:
        """Fold each aggregate's events into its state; `flush` writes each changed row once."""
        patients, participants = self._pending_patients, self._pending_participants
        for event in events:
            key = str(event.originator_id)
            if isinstance(event, PatientEvent):
                before = patients[key] if key in patients else self._patient(cursor, key)
                patients[key] = event.apply(before)
            elif isinstance(event, ParticipantEvent):
                known = participants[key] if key in participants else self._participant(cursor, key)
                participants[key] = event.apply(known)
        if len(patients) + len(participants) >= self.kept:
            self.flush(cursor)

    def flush(self, cursor: Cursor) -> None:
        """Write each row folded since the last flush, and keep it."""
        patients, participants = self._pending_patients, self._pending_participants
        for key, patient in patients.items():
            cursor.execute(_PATIENT_UPSERT, (key, patient.patient_id, self._sealed(patient)))
        for key, participant in participants.items():
            cursor.execute(_PARTICIPANT_UPSERT, (key, participant.model_dump_json()))
        _keep(self._patients, patients, self.kept)
        _keep(self._participants, participants, self.kept)
        self._pending_patients, self._pending_participants = {}, {}

    def _patient(self, cursor: Cursor, key: str) -> PatientState | None:
        if key in self._patients:
            return self._patients[key]
        row = cursor.fetchone(
            "SELECT state FROM eligibility_patients WHERE aggregate_id = ?", (key,)
        )
        return _patient(row[0], self.sealer) if row else None

    def _sealed(self, patient: PatientState) -> str:
        text = patient.model_dump_json()
        return self.sealer.seal(text) if self.sealer else text

    def _participant(self, cursor: Cursor, key: str) -> ParticipantState | None:
        if key in self._participants:
            return self._participants[key]
        row = cursor.fetchone(
            "SELECT state FROM eligibility_participants WHERE aggregate_id = ?", (key,)
        )
        return ParticipantState.model_validate_json(row[0]) if row else None

    def process(self, event: LedgerEvent, cursor: Cursor) -> None:
        """Fold a patient's or participant's event into its row (read and written at once;
        nothing kept)."""
        key = str(event.originator_id)
        if isinstance(event, PatientEvent):
            row = cursor.fetchone(
                "SELECT state FROM eligibility_patients WHERE aggregate_id = ?", (key,)
            )
            patient = _patient(row[0], self.sealer) if row else None
            folded = event.apply(patient)
            cursor.execute(_PATIENT_UPSERT, (key, folded.patient_id, self._sealed(folded)))
        elif isinstance(event, ParticipantEvent):
            row = cursor.fetchone(
                "SELECT state FROM eligibility_participants WHERE aggregate_id = ?", (key,)
            )
            participant = ParticipantState.model_validate_json(row[0]) if row else None
            cursor.execute(_PARTICIPANT_UPSERT, (key, event.apply(participant).model_dump_json()))


def _keep(kept: OrderedDict[str, Any], written: Mapping[str, Any], limit: int) -> None:
    for key, state in written.items():
        kept[key] = state
        kept.move_to_end(key)
    while len(kept) > limit:
        kept.popitem(last=False)


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
