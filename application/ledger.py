"""The ledger application: commands in, events appended, results out.

One `execute` per command: the idempotency receipt is checked first, then the command is parsed,
its time settled by the clock (`application.command_time`), the handler decides, and every event
of the command (the facts, the decision, the number claims, the receipt) is appended in one
transaction. A concurrent change to the same aggregate ends in `conflict` with nothing recorded.

Aggregates are read through a state cache (`application.state_cache`): each command first
follows the log (one query: which aggregates changed since the last), then reads from the store
only the aggregates that are not cached or that another writer changed. Inside a batch
(`application.batch`, `rems apply`) the events of earlier commands are held, visible to the
later ones, and appended together at its end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import RecordConflictError

from application.command_input import as_object, parse_command, same_command
from application.command_time import settle_time, system_now
from application.errors import Conflict, Duplicate, InvalidCommand, RemsError
from application.log_follow import changes_since
from application.notification_log import NotificationLog
from application.snapshots import (
    SNAPSHOT_EVERY,
    due_snapshots,
    latest_snapshot,
    start_from_snapshot,
    store_snapshots,
)
from application.state_cache import Projector, StateCache
from application.unit import Unit
from domain.base import LedgerEvent
from domain.chain import NewAggregate
from domain.duplicates import PersonIndex, project_person_index
from domain.participants import ParticipantState, project_participant
from domain.patient_fold import project_patient
from domain.patient_state import PatientState
from domain.registry import (
    CommandReceipt,
    CommandReceived,
    NumberClaim,
    NumberClaimed,
    aggregate_id,
    project_claim,
    project_receipt,
)
from domain.rules.context import DecisionTime
from infra.schema_lock import making_schema
from infra.settings import Settings

if TYPE_CHECKING:
    from application.batch import PendingBatch
    from application.commands import Command


class Ledger(Application[UUID]):
    """The REMS ledger: per-patient, per-prescriber and per-pharmacy aggregates."""

    name = "rems"
    env: ClassVar[dict[str, str]] = {}
    """No repository cache of the library's: its fast-forward never keeps the state it moved
    forward (our states are immutable), so every read replayed the history since the first one;
    `states` is the cache."""
    is_snapshotting_enabled = True
    snapshot_every = SNAPSHOT_EVERY
    """Events between a patient's snapshots (`application.snapshots`; 0: none taken)."""

    def __init__(
        self,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = system_now,
    ) -> None:
        self.settings = settings or Settings.from_env()
        with making_schema(self.settings.database_url):
            super().__init__(env=self.settings.event_store_env())
        self.notifications = NotificationLog(self.recorder, self.mapper)
        """The one reader of the notification log (positions and decoded events)."""
        self._clock = clock
        self.states = StateCache()
        self._in_command = threading.local()
        """`followed` is set while this thread runs a command that has followed the log: its
        reads take a current cached state without asking the store."""
        self.pending_batch: PendingBatch | None = None
        """Set while `application.batch` applies a group of lines in one transaction (the
        command line only; never while other threads use this ledger)."""
        self.last_recorded_at = self._read_last_recorded_at()

    # ----------------------------------------------------------------- reading aggregates
    def _get(self, uid: UUID, projector: Projector) -> Any:
        """The aggregate's state (None when it has no events), as this command sees it."""
        state = self._committed_state(uid, projector)
        if self.pending_batch is not None:
            state = self.pending_batch.state_after(uid, state, projector)
        return state

    def _committed_state(self, uid: UUID, projector: Projector) -> Any:
        """The aggregate's state as stored: inside a command, a cached state still current since
        the command followed the log; else the cached one moved forward by any newer events
        (another process may have appended), or folded from its latest snapshot or its first
        event."""
        if getattr(self._in_command, "followed", False):
            current = self.states.current(uid)
            if current is not None:
                return current
        read_after = self.states.position
        cached = self.states.get(uid)
        state, newer = cached, None
        if cached is None and projector is project_patient:
            state, newer = self._from_snapshot(uid)
        if newer is None:
            newer = self.events.get(uid, gt=state.version if state is not None else None)
        moved = projector(state, newer)
        if moved is not None:
            self.states.put(uid, moved, projector, read_after)
        return moved

    def _from_snapshot(self, uid: UUID) -> tuple[Any, Any]:
        """A patient's latest usable snapshot and the events after it, or (None, None)."""
        snapshot = latest_snapshot(self.snapshots, uid) if self.snapshots else None
        if snapshot is None:
            return None, None
        events = [
            cast(LedgerEvent, e) for e in self.events.get(uid, gt=snapshot.originator_version - 1)
        ]
        started = start_from_snapshot(snapshot, events)
        return started if started is not None else (None, None)

    def take_due_snapshots(self, events: Sequence[LedgerEvent]) -> None:
        """Snapshot the patients whose just-committed events passed a multiple of
        `snapshot_every` (their states are in the cache, folded at the commit)."""
        if self.snapshots is not None:
            due = due_snapshots(events, self.snapshot_every, self.states.get)
            store_snapshots(self.snapshots, due)

    def patient_state(self, patient_id: str) -> PatientState | None:
        """A patient's current state."""
        return cast(
            PatientState | None, self._get(aggregate_id("patient", patient_id), project_patient)
        )

    def patient_state_by_id(self, uid: UUID) -> PatientState | None:
        """A patient's current state by aggregate ID (the relay knows only those)."""
        return cast(PatientState | None, self._get(uid, project_patient))

    def participant_state(self, kind: str, participant_id: str) -> ParticipantState | None:
        """A prescriber's or pharmacy's current state."""
        uid = aggregate_id(kind, participant_id)
        return cast(ParticipantState | None, self._get(uid, project_participant))

    def claim(self, kind: str, number: str) -> NumberClaim | None:
        """The owner of an authorization or confirmation number."""
        return cast(NumberClaim | None, self._get(aggregate_id(kind, number), project_claim))

    def person_index(self, index_id: UUID) -> PersonIndex | None:
        """The patients enrolled under one folded identity (E8)."""
        return cast(PersonIndex | None, self._get(index_id, project_person_index))

    def receipt(self, actor: str, command_id: str) -> CommandReceipt | None:
        """The first result of a command ID sent by this actor (keys are per caller, so one
        caller's key never answers with another's result)."""
        receipt = self._get(receipt_id(actor, command_id), project_receipt)
        return cast(CommandReceipt | None, receipt)

    def stored_events(self, uid: UUID) -> list[LedgerEvent]:
        """Every event of an aggregate, in order."""
        return [cast(LedgerEvent, e) for e in self.events.get(uid)]

    def first_recorded_at(self) -> datetime | None:
        """When the ledger recorded its first event (None while empty)."""
        return self.notifications.recorded_at(1)

    def _read_last_recorded_at(self) -> datetime | None:
        end = self.notifications.end()
        return self.notifications.recorded_at(end) if end else None

    # ----------------------------------------------------------------- commands
    def execute(self, raw: Mapping[str, Any] | bytes | str, actor: str = "batch") -> dict[str, Any]:
        """Apply one command; return its result (`{"ok": true, ...}` or an error result)."""
        with self.command_scope():
            return self._execute(raw, actor)

    @contextmanager
    def command_scope(self) -> Iterator[None]:
        """One command's reads: the log followed once at the start (a scope inside another is
        the outer one), then every current cached state taken without asking the store."""
        if getattr(self._in_command, "followed", False):
            yield
            return
        self.states.follow(changes_since(self.recorder, self.states.position))
        self._in_command.position = self.states.position
        self._in_command.followed = True
        try:
            yield
        finally:
            self._in_command.followed = False

    def _execute(self, raw: Mapping[str, Any] | bytes | str, actor: str) -> dict[str, Any]:
        try:
            obj = as_object(raw)
            command_id = obj.get("command_id")
            if isinstance(command_id, str) and (receipt := self.receipt(actor, command_id)):
                same_command(receipt, obj)
                msg = f"Command {command_id} was already applied; this is its first result."
                raise Duplicate(msg, original=receipt.result)
            command = parse_command(obj)
            return self._decide_and_record(command, actor)
        except RemsError as error:
            return error.to_result()

    def _decide_and_record(self, command: Command, actor: str) -> dict[str, Any]:
        now = settle_time(command, self.settings, self._clock, self.last_recorded_at)
        at = DecisionTime.in_force(now, self.settings.timezone)
        unit = Unit(aggregates=self, at=at, actor=actor, command_id=command.command_id)
        # The command path (models, handlers) loads on the first command: queries, audits and
        # `rems --help` start without it.
        from application.handlers import HANDLERS

        try:
            outcome = HANDLERS[command.command](unit, command)
        except RemsError as error:
            if not isinstance(error, InvalidCommand | Conflict):
                unit.pending.clear()
                self._commit(unit, command, error.to_result())
            raise
        result = outcome.error.to_result() if outcome.error else {"ok": True, **outcome.payload}
        self._commit(unit, command, result)
        return result

    def _commit(self, unit: Unit, command: Command, result: dict[str, Any]) -> None:
        if command.command_id is not None:
            unit.record(
                CommandReceived,
                NewAggregate(receipt_id(unit.actor, command.command_id)),
                command=command.command,
                result=result,
            )
        if not unit.pending:
            return
        if self.pending_batch is not None:
            self.pending_batch.hold(unit.pending)
        else:
            try:
                self.save(*unit.pending)
            except RecordConflictError:
                self.states.evict(e.originator_id for e in unit.pending)
                msg = (
                    f"Another command changed {command.subject()} at the same time; nothing "
                    "was recorded. Retry the command."
                )
                raise Conflict(msg) from None
            began_at = getattr(self._in_command, "position", None)
            self.states.committed(unit.pending, _projector_of_first, began_at)
            self.take_due_snapshots(unit.pending)
        self.last_recorded_at = max(self.last_recorded_at or unit.now, unit.now)


def _projector_of_first(event: LedgerEvent) -> Projector | None:
    return _FIRST_EVENTS.get(type(event))


_FIRST_EVENTS: dict[type[LedgerEvent], Projector] = {
    NumberClaimed: project_claim,
    CommandReceived: project_receipt,
}
"""The aggregates a command starts that the next commands read (a number's claim, when its
authorization is confirmed; a receipt, when its command is sent again), kept at the commit."""


def receipt_id(actor: str, command_id: str) -> UUID:
    """The receipt aggregate of a caller's command ID."""
    return aggregate_id("command", f"{actor}\x1f{command_id}")
