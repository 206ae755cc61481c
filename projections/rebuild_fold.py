"""How a rebuild hands one aggregate's rows to the projections (`projections.runner`).

A row is decoded once for every projection that reads it, except a row before the state the
aggregate starts from (a patient's snapshot), which only the projections that start from no
state are given: when each of those that reads its topic takes it stored (`stored_types`),
they are given its stored JSON data instead (`take_stored`), and no event class is validated
(issue 13: the report counts every decision, a sixth of the log, while eligibility folds only
a patient's events after its snapshot). Rows after the start, which eligibility folds, are
decoded once and given to every projection as events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import resolve_topic

from domain.base import LedgerEvent
from projections.protocol import AggregateRows, Projection
from projections.view import Cursor

Decoder = Callable[[Any], LedgerEvent]
"""Turns a row into its domain event."""
StoredReader = Callable[[Any], Mapping[str, Any] | None]
"""A row's stored state as JSON data when it needs no upcasting to its class's current version
(decrypted and decompressed as the store keeps it); None: the row is to be decoded."""


@dataclass(frozen=True)
class _Topic:
    event_type: type[Any] | None
    """The topic's class (None: it does not resolve; the decoder says why)."""
    read: bool
    """Some projection reads its events."""
    whole: bool
    """Some projection that starts from no state reads its events."""
    takers: tuple[int, ...]
    """The projections its rows before a start state go to as stored data (empty: decoded)."""


class AggregateFold:
    """Gives an aggregate's rows to the projections: decoded, or as stored data where every
    projection given a row takes it so."""

    def __init__(
        self, projections: Sequence[Projection], decode: Decoder, stored: StoredReader | None
    ) -> None:
        self.projections = projections
        self._decode = decode
        self._stored = stored
        self._topics: dict[str, _Topic] = {}

    def is_read(self, topic: str) -> bool:
        """Whether some projection reads the topic's events."""
        return self._topic(topic).read

    def is_whole(self, topic: str) -> bool:
        """Whether a projection that starts from no state reads the topic's events."""
        return self._topic(topic).whole

    def _topic(self, topic: str) -> _Topic:
        found = self._topics.get(topic)
        if found is None:
            found = self._topics[topic] = self._resolve(topic)
        return found

    def _resolve(self, topic: str) -> _Topic:
        try:
            cls = resolve_topic(topic)
        # The decoder raises its own error for a topic it cannot resolve: let it.
        except Exception:
            return _Topic(None, True, True, ())
        if not isinstance(cls, type):
            return _Topic(None, True, True, ())
        reads = [issubclass(cls, p.event_types) for p in self.projections]
        whole = [i for i, p in enumerate(self.projections) if reads[i] and not p.starts_from]
        stored = self._stored is not None and all(
            issubclass(cls, self.projections[i].stored_types) for i in whole
        )
        return _Topic(cls, any(reads), bool(whole), tuple(whole) if stored else ())

    def fold(self, aggregate: AggregateRows, cursor: Cursor) -> None:
        """One aggregate's events to every projection: from its start state to those that
        take it, every event to the others (before the start, as stored data to those that
        take it so; a row before the start that none of the others reads is not decoded)."""
        start, version = aggregate.start, aggregate.start_version
        events: list[LedgerEvent] = []
        declined: dict[int, list[LedgerEvent]] = {}
        """Rows a projection would not take stored, decoded for it alone."""
        for row in aggregate.rows:
            topic = self._topic(row.topic)
            if not topic.read:
                continue
            if start is not None and row.originator_version <= version:
                if not topic.whole:
                    # In the start state (the row at its version is read for its hash alone).
                    continue
                if topic.takers:
                    assert self._stored is not None
                    state = self._stored(row)
                    if state is not None:
                        self._give_stored(row, topic, state, declined)
                        continue
            events.append(self._decode(row))
        for index, projection in enumerate(self.projections):
            extra = declined.get(index)
            if start is None or not projection.starts_from:
                projection.process_batch(events if extra is None else [*events, *extra], cursor)
                continue
            if not isinstance(start, projection.starts_from):
                msg = f"{type(projection).__name__} cannot start from {type(start).__name__}"
                raise TypeError(msg)
            projection.start(aggregate.aggregate_id, start)
            projection.process_batch([e for e in events if e.originator_version > version], cursor)

    def _give_stored(
        self,
        row: Any,
        topic: _Topic,
        state: Mapping[str, Any],
        declined: dict[int, list[LedgerEvent]],
    ) -> None:
        assert topic.event_type is not None
        event: LedgerEvent | None = None
        for index in topic.takers:
            if not self.projections[index].take_stored(topic.event_type, state):
                event = event or self._decode(row)
                declined.setdefault(index, []).append(event)
