"""What the projection runner drives and reads: a projection, and the log a rebuild reads one
aggregate at a time (implemented by `application.rebuild_rows.LogByAggregate`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.base import LedgerEvent
from projections.view import Cursor

TopicTest = Callable[[str], bool]


@dataclass(frozen=True)
class AggregateRows:
    """One aggregate's rows for a rebuild, in log order (each with `.id`, `.topic` and
    `.originator_version`). With a `start`, its state folded up to version `start_version` (a
    snapshot): its rows up to that version are only those of the topics the log was told are
    needed whole."""

    aggregate_id: str
    rows: Sequence[Any]
    start: object | None = None
    start_version: int = 0


class AggregateLog(Protocol):
    """The log read one aggregate at a time, for a rebuild."""

    def end(self) -> int:
        """The last position of the log."""
        ...

    def entries(self, stop: int) -> int:
        """How many entries the log holds up to `stop`."""
        ...

    def aggregates(self, stop: int, read: TopicTest, whole: TopicTest) -> Iterable[AggregateRows]:
        """Each aggregate's rows of the topics `read` takes, at or before `stop`, one aggregate
        after the other; one it starts from a state has, up to that state's version, only the
        rows of the topics `whole` takes."""
        ...


class Projection(Protocol):
    """A read model built from the ledger's events."""

    event_types: tuple[type[LedgerEvent], ...]
    """The event classes it reads (their subclasses too); a rebuild decodes no other."""

    starts_from: tuple[type[Any], ...]
    """The states a rebuild may start an aggregate's row from (then only the events after the
    state's version are processed); empty: it is given every event it reads."""

    stored_types: tuple[type[LedgerEvent], ...]
    """Of `event_types`, those a rebuild may give it as their stored JSON data (`take_stored`)
    instead of decoded, for the rows before an aggregate's start state (which only the
    projections that start from no state are given); empty: every event decoded."""

    def take_stored(self, event_type: type[LedgerEvent], state: Mapping[str, Any]) -> bool:
        """Apply one event of `event_type` (one of `stored_types`) from its stored state: JSON
        data at the class's current version, not validated, given in any order with the other
        events. False when it cannot: the row is then decoded and given to `process_batch`."""
        ...

    def start(self, aggregate_id: str, state: Any) -> None:
        """Take `state` (one of `starts_from`) as the aggregate's row before its next events."""
        ...

    def create_tables(self, cursor: Cursor) -> None:
        """Create the projection's tables if they do not exist."""
        ...

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop the projection's tables (for a rebuild)."""
        ...

    def process_batch(self, events: Sequence[LedgerEvent], cursor: Cursor) -> None:
        """Apply events, in log order, to the view rows (which it may hold until `flush`)."""
        ...

    def flush(self, cursor: Cursor) -> None:
        """Write the rows `process_batch` held back; the runner calls it before each commit."""
        ...

    def forget(self) -> None:
        """Drop any rows kept in memory: the next batch reads them from the tables."""
        ...
