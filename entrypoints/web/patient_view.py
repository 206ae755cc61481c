"""What the patient page shows, read at one instant: eligibility, what is due, the history
(now, or as the ledger knew it at an instant) and the patient's seal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from application.errors import NotFound
from application.ledger import Ledger
from application.program_ids import normalised_id
from application.queries import default_now, eligibility, history
from application.views import Views
from audit.proof_export import seal_of
from domain.patient_events import PatientEvent, project_patient
from domain.patient_state import PatientState
from domain.registry import aggregate_id
from domain.rules.context import DecisionTime
from domain.schedule import DueItem, due_items


@dataclass(frozen=True)
class PatientView:
    """Everything the page shows, read at one instant."""

    patient_id: str
    zone: ZoneInfo
    now: datetime
    as_of: datetime | None
    """None: the page shows the record now."""
    answer: dict[str, Any] | None
    """The eligibility answer; None when the patient was not yet enrolled at `as_of`."""
    prescriber_id: str | None
    """The prescriber of record at that instant."""
    due: list[DueItem]
    events: list[dict[str, Any]]
    hidden: int
    """Events recorded after `as_of`, left out."""
    seal: dict[str, Any] | None = None
    """The patient's events checked against a fresh signed tree head (None without a key)."""


def load_patient_view(
    ledger: Ledger, views: Views, patient_id: str, as_of: datetime | None
) -> PatientView:
    """Read the page's data (NotFound for a patient the ledger has never enrolled, or an ID that
    cannot be one)."""
    normalised = normalised_id(patient_id)
    if normalised is None:
        raise NotFound(f"{patient_id!r} is not a program ID.")
    patient_id = normalised
    everything = history(ledger, patient_id)["events"]
    events = history(ledger, patient_id, as_of)["events"] if as_of else everything
    now = as_of or default_now(ledger)
    at = DecisionTime.in_force(now, ledger.settings.timezone)
    answer: dict[str, Any] | None
    patient: PatientState | None
    if as_of is None:
        answer = views.eligibility(patient_id, now)
        patient = ledger.patient_state(patient_id)
    else:
        try:
            answer = eligibility(ledger, patient_id, as_of)
        except NotFound:
            answer = None
        stored = ledger.stored_events(aggregate_id("patient", patient_id))
        known = [e for e in stored if isinstance(e, PatientEvent) and e.timestamp <= as_of]
        patient = project_patient(None, known)
    return PatientView(
        patient_id=patient_id,
        zone=at.tz,
        now=now,
        as_of=as_of,
        answer=answer,
        prescriber_id=patient.prescriber_id if patient is not None else None,
        due=due_items(patient, at) if patient is not None else [],
        events=events,
        hidden=len(everything) - len(events),
        seal=seal_of(ledger, aggregate_id("patient", patient_id)),
    )
