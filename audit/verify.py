"""`rems verify`: re-read the whole store and prove nothing was altered, deleted, reordered or
inserted (DESIGN.md, "Tamper evidence").

Every row of the notification log is decoded from its raw bytes and checked on its own (its
stored `hash` recomputed from its state, aggregate ID and version; its topic resolved to a ledger
event class that accepts the state) and against its aggregate's sequence in log order (versions
1, 2, 3... each chained by `previous_hash` to the hash stored on the version before). Number
claims are cross-checked with the decisions that issued the numbers, which catches a decision
deleted from the tail of a patient's chain. A published digest catches what no chain can: an
aggregate's last event deleted, or an aggregate forged whole with consistent hashes.

Memory is bounded by the number of aggregates and decisions, not events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import TopicError, resolve_topic
from pydantic import BaseModel, ValidationError

from audit.digest import (
    UNREADABLE_HASH,
    BadRow,
    Heads,
    UnreadableStateError,
    as_uuid,
    decode_json,
    log_end,
    parse_digest,
    read_log,
    row_error,
)
from audit.findings import Problem, ProblemKind, VerificationReport
from audit.sequence_track import Gap, Track
from domain.base import LedgerEvent
from audit.stored_hash import hash_of_stored
from domain.chain import CHAIN_MEMBER, GENESIS, ChainError
from domain.decision_events import AuthorizationIssued, DispenseConfirmed
from domain.registry import NumberClaimed, aggregate_id

if TYPE_CHECKING:
    from application.ledger import Ledger

EVENT_PACKAGE = "domain."
"""Ledger events live in the pure domain; a topic elsewhere is not imported (a forged topic
must not make the audit import arbitrary modules)."""
NUMBER_FIELDS: dict[type[LedgerEvent], tuple[str, str]] = {
    AuthorizationIssued: ("authorization", "authorization_number"),
    DispenseConfirmed: ("confirmation", "confirmation_number"),
}
"""Decisions that issue a number: the claim kind and the field holding the number."""


@dataclass(frozen=True)
class _Number:
    aggregate: UUID
    version: int
    position: int
    patient_id: str = ""


@dataclass
class _Verifier:
    ledger: Ledger
    digest_position: int | None
    problems: list[Problem] = field(default_factory=list)
    tracks: dict[UUID, Track] = field(default_factory=dict)
    claims: dict[tuple[str, str], _Number] = field(default_factory=dict)
    issued: dict[tuple[str, str], _Number] = field(default_factory=dict)
    heads: Heads = field(default_factory=Heads)
    events: int = 0
    position: int = 0

    def report(
        self, kind: ProblemKind, aid: UUID | None, version: int | None, pos: int | None, msg: str
    ) -> None:
        self.problems.append(
            Problem(aggregate_id=aid, version=version, position=pos, kind=kind, message=msg)
        )

    def flag(self, kind: ProblemKind, row: Notification, what: str) -> None:
        """A problem with one row, its message starting with the row's place."""
        aid, version = as_uuid(row.originator_id), row.originator_version
        self.report(kind, aid, version, row.id, f"{aid} v{version} at position {row.id}: {what}")

    def check(self, row: Notification | BadRow) -> None:
        """Check one row on its own and in its aggregate's sequence."""
        self.events += 1
        self.position = row.id
        error = row_error(row)
        if isinstance(row, BadRow) or error is not None:
            self.report(ProblemKind.UNREADABLE, None, None, row.id, f"position {row.id}: {error}.")
            if self.digest_position is not None and row.id <= self.digest_position:
                self.heads.bad_rows.append(row.id)
            return
        aid, version = as_uuid(row.originator_id), row.originator_version
        state: dict[str, Any] | None = None
        try:
            data, state = decode_json(self.ledger.mapper, row.state)
        except UnreadableStateError as error:
            self.flag(ProblemKind.UNREADABLE, row, f"{error}.")
        stored_hash = _text(state, "hash")
        previous: str | None = None
        if state is not None:
            try:
                recomputed: str | None = hash_of_stored(aid, version, state, row.topic, data)
            except ChainError as error:
                recomputed = None
                self.flag(ProblemKind.ALTERED, row, f"{error}.")
            if recomputed is not None and stored_hash != recomputed:
                self.flag(ProblemKind.ALTERED, row, "its content does not match its hash.")
            self._check_event(row, aid, state)
            previous = _text(state, "previous_hash") or ""
        self._check_sequence(row, aid, stored_hash, previous)
        if self.digest_position is not None and row.id <= self.digest_position:
            self.heads.add(aid, version, stored_hash or UNREADABLE_HASH)

    def _check_event(self, row: Notification, aid: UUID, state: dict[str, Any]) -> None:
        cls: Any = None
        # An untyped column (SQLite) may hold anything: only a string naming a domain module.
        topic: object = row.topic
        if isinstance(topic, str) and topic.startswith(EVENT_PACKAGE):
            try:
                cls = resolve_topic(topic)
            except TopicError:
                cls = None
        if not (isinstance(cls, type) and issubclass(cls, LedgerEvent)):
            self.flag(ProblemKind.UNKNOWN_TOPIC, row, f"{row.topic!r} is not a ledger event.")
            return
        try:
            data = _as_current(cls, state, aid, row.originator_version)
        # Upcasters are arbitrary code and validation errors vary: any failure means the row
        # cannot be read as the event its topic names.
        except Exception as error:
            self.flag(
                ProblemKind.INVALID_EVENT, row, f"not a valid {cls.__name__}: {_brief(error)}"
            )
            return
        at = _Number(aid, row.originator_version, row.id)
        if issubclass(cls, NumberClaimed):
            key = (str(data["kind"]), str(data["number"]))
            self.claims[key] = _Number(aid, at.version, at.position, str(data["patient_id"]))
        for decision, (kind, name) in NUMBER_FIELDS.items():
            if issubclass(cls, decision):
                self.issued[(kind, str(data[name]))] = at

    def _check_sequence(
        self, row: Notification, aid: UUID, stored_hash: str | None, previous: str | None
    ) -> None:
        """Versions 1, 2, 3... in log order, each chained to the hash stored on the one before.
        `previous` is None when the row is unreadable (its link cannot be checked)."""
        version = row.originator_version
        track = self.tracks.get(aid)
        if track is not None and version <= track.version:
            track.fill(version)
            late = f"it comes after v{track.version} at position {track.position} in the log."
            self.flag(ProblemKind.OUT_OF_ORDER, row, late)
            return
        if version < 1:
            self.flag(ProblemKind.OUT_OF_ORDER, row, "versions start at 1.")
            return
        expected = 1 if track is None else track.version + 1
        if track is None:
            track = self.tracks[aid] = Track(version, stored_hash, row.id)
        if version > expected:
            # Reported at the end: a late row may still fill the gap (then it is out of order).
            track.gaps.append(Gap(expected, version - 1, row.id, version))
        elif previous is not None:
            chained_on = GENESIS if version == 1 else track.hash
            if chained_on is not None and previous != chained_on:
                before = (
                    "the genesis hash"
                    if version == 1
                    else f"the hash stored on v{track.version} at position {track.position}"
                )
                self.flag(ProblemKind.CHAIN_BROKEN, row, f"its previous_hash is not {before}.")
        track.version, track.hash, track.position = version, stored_hash, row.id

    def finish(self, digest: str | None) -> None:
        """The findings that need the whole log: gaps, number claims, the digest."""
        for aid, track in self.tracks.items():
            for gap in track.gaps:
                span = f"v{gap.first}" if gap.first == gap.last else f"v{gap.first}-v{gap.last}"
                self.report(
                    ProblemKind.MISSING_VERSION,
                    aid,
                    gap.first,
                    gap.position,
                    f"{aid} {span} missing: nothing before v{gap.after} at position "
                    f"{gap.position} fills it.",
                )
        self._check_claims()
        if digest is not None:
            self._check_digest(digest)
        self.problems.sort(key=lambda p: (p.position is None, p.position or 0, p.kind))

    def _check_claims(self) -> None:
        for (kind, number), claim in self.claims.items():
            patient = aggregate_id("patient", claim.patient_id)
            issued = self.issued.get((kind, number))
            if issued is None or issued.aggregate != patient:
                self.report(
                    ProblemKind.ORPHAN_CLAIM,
                    patient,
                    None,
                    claim.position,
                    f"{kind} number {number} is claimed for patient {claim.patient_id} "
                    f"(claim {claim.aggregate} at position {claim.position}) but the "
                    f"patient's aggregate {patient} has no decision issuing it.",
                )
        for (kind, number), issued in self.issued.items():
            if (kind, number) not in self.claims:
                self.report(
                    ProblemKind.UNCLAIMED_NUMBER,
                    issued.aggregate,
                    issued.version,
                    issued.position,
                    f"{kind} number {number} issued by {issued.aggregate} "
                    f"v{issued.version} at position {issued.position} has no claim.",
                )

    def _check_digest(self, digest: str) -> None:
        position, expected = parse_digest(digest)
        end = max(self.position, log_end(self.ledger))
        if position > end:
            self.report(
                ProblemKind.DIGEST_BEYOND_END,
                None,
                None,
                position,
                f"the digest is at position {position}, beyond the end of the log "
                f"({end}): events were deleted from the end, or it is another ledger's.",
            )
            return
        actual = self.heads.digest(position)
        if actual.sha256 != expected:
            self.report(
                ProblemKind.DIGEST_MISMATCH,
                None,
                None,
                position,
                f"the ledger's digest at position {position} is {actual.text}, not the "
                "published one: an event at or before that position was altered, "
                "deleted or inserted.",
            )


def verify(ledger: Ledger, digest: str | None = None) -> VerificationReport:
    """Re-read the whole store and report every sign of tampering; with a published `digest`,
    also check the aggregate heads at its position. A malformed digest is a `ValueError`,
    raised before anything is read."""
    digest_position = None if digest is None else parse_digest(digest)[0]
    verifier = _Verifier(ledger, digest_position)
    for row in read_log(ledger):
        verifier.check(row)
    verifier.finish(digest)
    return VerificationReport(
        ok=not verifier.problems,
        events_checked=verifier.events,
        aggregates=len(verifier.tracks),
        position=verifier.position,
        digest=digest,
        problems=verifier.problems,
    )


def _text(state: dict[str, Any] | None, key: str) -> str | None:
    value = None if state is None else state.get(key)
    return value if isinstance(value, str) else None


def _brief(error: Exception) -> str:
    """An error in one line (a validation error: its first few fields)."""
    if not isinstance(error, ValidationError):
        return f"{type(error).__name__}: {error}"
    errors = error.errors(include_url=False)
    fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return f"{fields}{more}."


def _as_current(
    cls: type[BaseModel], state: dict[str, Any], aid: UUID, version: int
) -> dict[str, Any]:
    """The state upcast to the class's current version and validated by it (as the mapper
    reads it); the plain data, never the model, is used afterwards."""
    data = dict(state)
    stored_version = data.pop("class_version", 1)
    data.pop(CHAIN_MEMBER, None)
    while stored_version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{stored_version}_v{stored_version + 1}")(data)
        stored_version += 1
    cls.model_validate({**data, "originator_id": aid, "originator_version": version})
    return data
