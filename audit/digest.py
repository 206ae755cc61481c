"""Ledger digests, and the raw reading of the notification log that audits rely on.

A digest is one SHA-256 over every aggregate's head (aggregate ID, last version, the hash that
version carries) among the events at or before a log position. Published (signed, filed, mailed
to the sponsor), it pins the whole ledger at that position: deleting an aggregate's last event,
or forging an aggregate whose chain is consistent from end to end, leaves every hash chain
intact but changes the digest. Appends after the position leave it unchanged.

The log is read as raw rows and decoded here (cipher, compressor, orjson) so the audit never
depends on the pydantic event classes or on the application's aggregate cache.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Notification

from infra.transcoding import stored_json

if TYPE_CHECKING:
    from application.ledger import Ledger

DIGEST_PREFIX = "rems-digest-v1"
DIGEST_FORMAT = f"{DIGEST_PREFIX}:POSITION:SHA256 (POSITION a log position, SHA256 64 hex digits)"
BATCH_SIZE = 1000
"""Notifications read per query."""
UNREADABLE_HASH = "unreadable"
"""The head hash of an event whose stored state cannot be decoded."""

_DIGEST_PATTERN = re.compile(rf"{DIGEST_PREFIX}:(\d+):([0-9a-fA-F]{{64}})")


class UnreadableStateError(ValueError):
    """A stored state is not the JSON object the mapper wrote."""


def decode_state(mapper: Mapper[UUID], data: bytes) -> dict[str, Any]:
    """A stored event's JSON state, from its raw bytes (decrypted and decompressed first)."""
    return decode_json(mapper, data)[1]


def decode_json(mapper: Mapper[UUID], data: bytes) -> tuple[bytes, dict[str, Any]]:
    """A stored event's JSON bytes (decrypted and decompressed) and the state they hold."""
    try:
        data = stored_json(mapper, data)
        state = orjson.loads(data)
    # A cipher or compressor raises its own error types on damaged bytes; all mean unreadable.
    except Exception as error:
        msg = f"the stored state cannot be decoded: {error}"
        raise UnreadableStateError(msg) from error
    if not isinstance(state, dict):
        msg = f"the stored state is a JSON {type(state).__name__}, not an object"
        raise UnreadableStateError(msg)
    return data, state


@dataclass(frozen=True)
class BadRow:
    """A row the recorder cannot even turn into a notification (on SQLite, whose columns are
    untyped: e.g. an aggregate ID that is not a UUID)."""

    id: int
    """Its log position."""
    error: str
    """Why it cannot be read."""


def row_error(row: Notification | BadRow) -> str | None:
    """Why a row cannot be taken as an event of an aggregate, or None."""
    if isinstance(row, BadRow):
        return row.error
    version: object = row.originator_version  # an untyped column (SQLite) may hold anything
    if not isinstance(version, int):
        return f"its version {version!r} is not an integer"
    return None


_ROW_ERRORS = (ValueError, TypeError, AttributeError)
"""What a recorder raises when it converts a malformed column (e.g. `UUID("junk")`)."""


def read_log(
    ledger: Ledger,
    stop: int | None = None,
    batch_size: int = BATCH_SIZE,
    after: int | None = None,
) -> Iterator[Notification | BadRow]:
    """Every row of the notification log in position order (after `after`, up to `stop`,
    inclusive). A row the recorder cannot convert is isolated and given as a `BadRow`; reading
    goes on after it."""
    while True:
        try:
            batch = _select(ledger, after, batch_size, stop)
        except _ROW_ERRORS as error:
            bad = _first_bad_position(ledger, after, stop)
            yield from _select(ledger, after, batch_size, bad - 1)
            yield BadRow(bad, f"{type(error).__name__}: {error}")
            after = bad
            continue
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].id


def _select(
    ledger: Ledger, after: int | None, limit: int, stop: int | None
) -> Sequence[Notification]:
    return ledger.notifications.read(after, limit, stop=stop, inclusive_of_start=False)


def _first_bad_position(ledger: Ledger, after: int | None, stop: int | None) -> int:
    """The lowest position after `after` whose row cannot be converted: gallop, then bisect,
    on how far the log can be read (rows up to a position before it read fine)."""
    good = after or 0
    end = stop if stop is not None else log_end(ledger)
    step, bad = 1, end
    while good + step < end:
        if _unreadable(ledger, good, good + step):
            bad = good + step
            break
        good, step = good + step, step * 2
    while bad - good > 1:
        middle = (good + bad) // 2
        if _unreadable(ledger, good, middle):
            bad = middle
        else:
            good = middle
    return bad


def _unreadable(ledger: Ledger, after: int, upto: int) -> bool:
    """Whether some row in positions (after, upto] cannot be converted."""
    try:
        _select(ledger, after, upto - after, upto)
    except _ROW_ERRORS:
        return True
    return False


def as_uuid(originator_id: UUID | str) -> UUID:
    """The aggregate ID of a row as a UUID (recorders may give text)."""
    return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))


def log_end(ledger: Ledger) -> int:
    """The last position of the notification log (0 when empty)."""
    return ledger.notifications.end()


@dataclass(frozen=True)
class Digest:
    """A ledger digest at a log position."""

    position: int
    """The log position it covers (every event at or before it)."""
    aggregates: int
    """How many aggregates had an event at or before the position."""
    sha256: str
    """SHA-256 (hex) of the sorted head lines."""

    @property
    def text(self) -> str:
        """The published form, `rems-digest-v1:POSITION:SHA256`."""
        return f"{DIGEST_PREFIX}:{self.position}:{self.sha256}"

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict[str, Any]:
        """The `rems digest --json` shape."""
        return {"position": self.position, "aggregates": self.aggregates, "digest": self.text}


@dataclass
class Heads:
    """The head of each aggregate: its highest version and the hash that event carries."""

    heads: dict[UUID, tuple[int, str]] = field(default_factory=dict)
    bad_rows: list[int] = field(default_factory=list)
    """Positions of rows that name no aggregate (each adds a line `unreadable-row:POSITION`)."""

    def add(self, aggregate: UUID, version: int, stored_hash: str) -> None:
        """Take one event into account."""
        current = self.heads.get(aggregate)
        if current is None or version > current[0]:
            self.heads[aggregate] = (version, stored_hash)

    def digest(self, position: int) -> Digest:
        """The digest of these heads at `position`."""
        heads = ((str(aid), version, head) for aid, (version, head) in self.heads.items())
        return digest_of_heads(heads, self.bad_rows, position)


def digest_of_heads(
    heads: Iterable[tuple[str, int, str]], bad_rows: Iterable[int], position: int
) -> Digest:
    """The digest at `position` of heads `(ID, VERSION, HASH)` (each ID in its canonical
    lower-case form) and of the rows that name no aggregate: lines `ID:VERSION:HASH` and
    `unreadable-row:POSITION`, sorted, each ended by a newline."""
    lines = [f"{aid}:{version}:{head}" for aid, version, head in heads]
    aggregates = len(lines)
    lines.extend(f"unreadable-row:{row}" for row in bad_rows)
    lines.sort()
    text = "".join(f"{line}\n" for line in lines)
    return Digest(position, aggregates, hashlib.sha256(text.encode()).hexdigest())


def stored_hash_of(mapper: Mapper[UUID], notification: Notification) -> str:
    """The `hash` a stored event carries (a marker when its state cannot be read)."""
    try:
        value = decode_state(mapper, notification.state).get("hash")
    except UnreadableStateError:
        return UNREADABLE_HASH
    return value if isinstance(value, str) else UNREADABLE_HASH


def compute_digest(ledger: Ledger, position: int | None = None) -> Digest:
    """The digest over every aggregate head among the events at or before `position`
    (default: the end of the log). A position beyond the end is a `ValueError`."""
    end = log_end(ledger)
    if position is None:
        position = end
    elif position < 0:
        msg = f"position {position}: a log position is 0 or more"
        raise ValueError(msg)
    elif position > end:
        msg = f"position {position} is beyond the end of the log (last position {end})"
        raise ValueError(msg)
    heads = Heads()
    for notification in read_log(ledger, stop=position):
        if isinstance(notification, BadRow) or row_error(notification):
            heads.bad_rows.append(notification.id)
            continue
        heads.add(
            as_uuid(notification.originator_id),
            notification.originator_version,
            stored_hash_of(ledger.mapper, notification),
        )
    return heads.digest(position)


def parse_digest(text: str) -> tuple[int, str]:
    """`(position, sha256)` of a published digest; a `ValueError` naming the expected format
    when it is malformed."""
    match = _DIGEST_PATTERN.fullmatch(text.strip())
    if match is None:
        msg = f"malformed digest {text!r}: expected {DIGEST_FORMAT}"
        raise ValueError(msg)
    return int(match.group(1)), match.group(2).lower()
