"""One command's unit of work: what it read, what it will append, and when it happens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic

from application.errors import NotFound, RemsError
from domain.base import LedgerEvent
from domain.chain import CHAIN_MEMBER, CHAIN_VERSION, Head, stored_event_hash
from domain.duplicates import PersonIndex
from domain.participants import ParticipantState
from domain.patient_state import PatientState
from domain.registry import NumberClaim, aggregate_id
from domain.rules.context import DecisionTime

E = TypeVar("E", bound=LedgerEvent)


class AggregateReader(Protocol):
    """What a unit of work reads: the current state of a patient, a participant, a claim."""

    def patient_state(self, patient_id: str) -> PatientState | None:
        """A patient's current state, or None if never enrolled."""

    def participant_state(self, kind: str, participant_id: str) -> ParticipantState | None:
        """A prescriber's or pharmacy's current state, or None if unknown."""

    def claim(self, kind: str, number: str) -> NumberClaim | None:
        """The owner of an authorization or confirmation number, or None if unknown."""

    def person_index(self, index_id: UUID) -> PersonIndex | None:
        """The patients enrolled under one folded identity (E8), or None."""


@dataclass
class Outcome:
    """A handler's answer: the result payload, or the error (a denial still appends events)."""

    payload: dict[str, Any] = field(default_factory=dict)
    error: RemsError | None = None


@dataclass
class Unit:
    """Reads aggregates for one command and collects the events it decides to append."""

    aggregates: AggregateReader
    at: DecisionTime
    actor: str
    command_id: str | None
    pending: list[LedgerEvent] = field(default_factory=list)
    _heads: dict[UUID, tuple[int, str]] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        """The instant of the command."""
        return self.at.now

    def patient(self, patient_id: str) -> PatientState | None:
        """The patient's current state, or None if never enrolled."""
        return self.aggregates.patient_state(patient_id)

    def enrolled_patient(self, patient_id: str) -> PatientState:
        """The patient's state; `not_found` when the patient was never enrolled."""
        patient = self.patient(patient_id)
        if patient is None:
            msg = f"Patient {patient_id} is not enrolled in the REMS."
            raise NotFound(msg)
        return patient

    def prescriber(self, prescriber_id: str) -> ParticipantState | None:
        """The prescriber's state, or None if never registered."""
        return self.aggregates.participant_state("prescriber", prescriber_id)

    def pharmacy(self, pharmacy_id: str) -> ParticipantState | None:
        """The pharmacy's state, or None if never certified."""
        return self.aggregates.participant_state("pharmacy", pharmacy_id)

    def person_index(self, index_id: UUID) -> PersonIndex | None:
        """The patients enrolled under one folded identity (E8), or None."""
        return self.aggregates.person_index(index_id)

    def claim(self, kind: str, number: str) -> NumberClaim:
        """Who a number belongs to; `not_found` for an unknown number."""
        claim = self.aggregates.claim(kind, number)
        if claim is None:
            msg = f"No {kind} number {number} exists."
            raise NotFound(msg)
        return claim

    def record(
        self,
        event_class: type[E],
        head: Head,
        occurred_at: datetime | None = None,
        **fields: Any,
    ) -> E:
        """Create the next event of an aggregate, chained to its head (or to the event this
        unit recorded on it last)."""
        version, previous = self._heads.get(head.id, (head.version, head.head_hash))
        event = event_class(
            originator_id=head.id,
            originator_version=version + 1,
            timestamp=self.now,
            occurred_at=occurred_at or self.now,
            actor=self.actor,
            command_id=self.command_id,
            previous_hash=previous,
            **fields,
        )
        unhashed = {"hash", "originator_id", "originator_version"}
        state = event.model_dump(mode="json", exclude=unhashed)
        # The mapper stores every new event under chain v2 (infra/transcoding.py).
        state[CHAIN_MEMBER] = CHAIN_VERSION
        digest = stored_event_hash(head.id, version + 1, state, get_topic(event_class))
        event = event.model_copy(update={"hash": digest})
        self._heads[head.id] = (version + 1, digest)
        self.pending.append(event)
        return event

    @staticmethod
    def patient_aggregate_id(patient_id: str) -> UUID:
        """The patient's deterministic aggregate ID."""
        return aggregate_id("patient", patient_id)
