"""`rems verify`: re-read the whole store and prove nothing was altered, deleted, reordered or
inserted (DESIGN.md, "Tamper evidence").

Every row of the notification log is decoded from its raw bytes and checked on its own (its
stored `hash` recomputed from its state, aggregate ID and version; its topic resolved to a ledger
event class that accepts the state) and against its aggregate's sequence in log order (versions
1, 2, 3... each chained by `previous_hash` to the hash stored on the version before). Number
claims are cross-checked with the decisions that issued the numbers, which catches a decision
deleted from the tail of a patient's chain. A published digest catches what no chain can: an
aggregate's last event deleted, or an aggregate forged whole with consistent hashes.

The store is read one aggregate at a time (`audit/aggregate_rows.py`: each aggregate's rows in
log order), and what spans aggregates (numbers, heads) is kept on disk (`audit/verify_spill.py`),
so memory is bounded by the largest aggregate, not by the ledger (issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from application.aggregate_rows import raw_aggregates
from audit.aggregate_rows import as_aggregate, as_row
from audit.clean_rows import CleanRows
from audit.cross_checks import check_claims, check_digest
from audit.digest import (
    UNREADABLE_HASH,
    BadRow,
    UnreadableStateError,
    as_uuid,
    decode_json,
    log_end,
    parse_digest,
    row_error,
)
from audit.event_check import as_current, brief, ledger_event_class
from audit.findings import Problem, ProblemKind, VerificationReport
from audit.sequence_track import Gap, Track
from audit.stored_hash import hash_of_stored
from audit.verify_spill import CLAIM, ISSUED, NumberRecord, Spill
from domain.base import LedgerEvent
from domain.chain import GENESIS, ChainError
from domain.decision_events import AuthorizationIssued, DispenseConfirmed
from domain.registry import NumberClaimed

if TYPE_CHECKING:
    from application.ledger import Ledger

NUMBER_FIELDS: dict[type[LedgerEvent], tuple[str, str]] = {
    AuthorizationIssued: ("authorization", "authorization_number"),
    DispenseConfirmed: ("confirmation", "confirmation_number"),
}
"""Decisions that issue a number: the claim kind and the field holding the number."""


@dataclass
class Verifier:
    """What `verify` has read so far, and what it found."""

    ledger: Ledger
    digest_position: int | None
    problems: list[Problem] = field(default_factory=list)
    spill: Spill = field(default_factory=Spill)
    track: Track | None = None
    """The sequence of the aggregate being read (one at a time)."""
    head: tuple[int, str] | None = None
    """Its highest version at or before the digest's position, and that row's hash."""
    aggregates: int = 0
    events: int = 0
    position: int = 0
    clean: CleanRows = field(init=False)

    def __post_init__(self) -> None:
        self.clean = CleanRows(self)

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

    def check_aggregate(self, rows: list[Notification | BadRow]) -> None:
        """Check one aggregate's rows (in log order), then what its sequence still lacks."""
        self._start_aggregate()
        aid: UUID | None = None
        for row in rows:
            self.check(row)
            if not isinstance(row, BadRow):
                aid = as_uuid(row.originator_id)
        if self.track is not None and aid is not None:
            self.aggregates += 1
            self._report_gaps(aid, self.track)
        if self.head is not None and aid is not None:
            self.spill.head(f"{aid}:{self.head[0]}:{self.head[1]}", aggregate=True)

    def check_raw_aggregate(self, raws: list[tuple[Any, ...]]) -> None:
        """Check one aggregate's raw rows (in log order), the clean ones in one tight pass
        (`audit/clean_rows.py`), any other the long way."""
        aid = as_aggregate(raws[0][1])
        if aid is None:
            for raw in raws:
                self.check_aggregate([as_row(raw)])
            return
        self._start_aggregate()
        text, take = str(aid), self.clean.take
        for raw in raws:
            if not take(raw, aid, text):
                self.check(as_row(raw))
        if self.track is not None:
            self.aggregates += 1
            self._report_gaps(aid, self.track)
        if self.head is not None:
            self.spill.head(f"{aid}:{self.head[0]}:{self.head[1]}", aggregate=True)

    def result(self, digest: str | None) -> VerificationReport:
        """The report of what was read and found."""
        return VerificationReport(
            ok=not self.problems,
            events_checked=self.events,
            aggregates=self.aggregates,
            position=self.position,
            digest=digest,
            problems=self.problems,
        )

    def _start_aggregate(self) -> None:
        self.track, self.head = None, None

    def check(self, row: Notification | BadRow) -> None:
        """Check one row on its own and in its aggregate's sequence."""
        self.events += 1
        self.position = max(self.position, row.id)
        error = row_error(row)
        if isinstance(row, BadRow) or error is not None:
            self.report(ProblemKind.UNREADABLE, None, None, row.id, f"position {row.id}: {error}.")
            if self.digest_position is not None and row.id <= self.digest_position:
                self.spill.head(f"unreadable-row:{row.id}", aggregate=False)
            return
        aid, version = as_uuid(row.originator_id), row.originator_version
        state: dict[str, Any] | None = None
        try:
            _, state = decode_json(self.ledger.mapper, row.state)
        except UnreadableStateError as error:
            self.flag(ProblemKind.UNREADABLE, row, f"{error}.")
        stored_hash = _text(state, "hash")
        previous: str | None = None
        if state is not None:
            try:
                recomputed: str | None = hash_of_stored(aid, version, state, row.topic)
            except ChainError as error:
                recomputed = None
                self.flag(ProblemKind.ALTERED, row, f"{error}.")
            if recomputed is not None and stored_hash != recomputed:
                self.flag(ProblemKind.ALTERED, row, "its content does not match its hash.")
            self._check_event(row, aid, state)
            previous = _text(state, "previous_hash") or ""
        self._check_sequence(row, aid, stored_hash, previous)
        at_digest = self.digest_position is not None and row.id <= self.digest_position
        if at_digest and (self.head is None or version > self.head[0]):
            self.head = (version, stored_hash or UNREADABLE_HASH)

    def _check_event(self, row: Notification, aid: UUID, state: dict[str, Any]) -> None:
        cls = ledger_event_class(row.topic)
        if cls is None:
            self.flag(ProblemKind.UNKNOWN_TOPIC, row, f"{row.topic!r} is not a ledger event.")
            return
        try:
            data = as_current(cls, state, aid, row.originator_version)
        # Upcasters are arbitrary code and validation errors vary: any failure means the row
        # cannot be read as the event its topic names.
        except Exception as error:
            self.flag(ProblemKind.INVALID_EVENT, row, f"not a valid {cls.__name__}: {brief(error)}")
            return
        version = row.originator_version
        if issubclass(cls, NumberClaimed):
            kind, number, patient = str(data["kind"]), str(data["number"]), str(data["patient_id"])
            self.spill.number(CLAIM, NumberRecord(kind, number, aid, version, row.id, patient))
        for decision, (kind, name) in NUMBER_FIELDS.items():
            if issubclass(cls, decision):
                number = str(data[name])
                self.spill.number(ISSUED, NumberRecord(kind, number, aid, version, row.id))

    def _check_sequence(
        self, row: Notification, aid: UUID, stored_hash: str | None, previous: str | None
    ) -> None:
        """Versions 1, 2, 3... in log order, each chained to the hash stored on the one before.
        `previous` is None when the row is unreadable (its link cannot be checked)."""
        version = row.originator_version
        track = self.track
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
            track = self.track = Track(version, stored_hash, row.id)
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

    def _report_gaps(self, aid: UUID, track: Track) -> None:
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

    def finish(self, digest: str | None) -> None:
        """The findings that need the whole log: number claims, the digest."""
        check_claims(self)
        if digest is not None:
            check_digest(self, digest)
        self.problems.sort(key=lambda p: (p.position is None, p.position or 0, p.kind))


def verify(ledger: Ledger, digest: str | None = None, parts: int | None = 1) -> VerificationReport:
    """Re-read the whole store and report every sign of tampering; with a published `digest`,
    also check the aggregate heads at its position. A malformed digest is a `ValueError`,
    raised before anything is read. `parts`: processes checking ranges of aggregates side by
    side (`audit/verify_parts.py`; None: as many as pay on this store and machine)."""
    digest_position = None if digest is None else parse_digest(digest)[0]
    verifier = Verifier(ledger, digest_position)
    stop = log_end(ledger)
    try:
        if parts is None or parts > 1:
            # Loaded only when used: multiprocessing is not what a small verify needs.
            from audit import verify_parts

            parts = verify_parts.parts_for(ledger, stop) if parts is None else parts
            if parts > 1:
                verify_parts.check_in_parts(verifier, stop, parts)
        if parts == 1:
            for raws in raw_aggregates(ledger, stop):
                verifier.check_raw_aggregate(raws)
        verifier.finish(digest)
    finally:
        verifier.spill.close()
    return verifier.result(digest)


def _text(state: dict[str, Any] | None, key: str) -> str | None:
    value = None if state is None else state.get(key)
    return value if isinstance(value, str) else None
