"""The relay: publishes the ledger's events to Kafka in notification-log order.

The last published position is stored durably in the ledger's own database and moved only after
the broker acknowledged every message up to it (idempotent producer, `acks=all`): a crash loses
nothing and re-sends at most the unacknowledged tail, which consumers drop by event ID. While the
broker is away the relay retries with a growing pause and says so in its log.

Batches are pipelined: while batch N is in flight the relay reads, encodes and sends batch N+1
(at most `in_flight` batches sent and unrecorded), and records positions batch by batch, in log
order, each only once all its messages are acknowledged. The unacknowledged tail is therefore at
most `batch_size * in_flight` log entries (`Relay.most_unrecorded`).

A batch that fails leaves the producer suspect: kafka-python resets an idempotent producer's ID
when a batch expires in flight (the broker dead longer than the delivery timeout) and that
producer may never send again. So after a failure the relay closes its producer (aborting every
batch still pending) and makes a new one from its factory before the retry, and the
unacknowledged tail is sent once more. Stopping (`stop` set) interrupts the wait for
acknowledgements, so a stalled relay exits.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from consumers.acknowledgements import ACK_TIMEOUT_S, RelayStopped, await_acknowledgements
from consumers.age import AGE_CHANGE_TOPIC, AgeChanges, PatientLookup, age_change_message
from consumers.envelope import encoded_message
from consumers.pseudonyms import Pseudonyms
from consumers.relay_positions import RELAY_NAME, RelayPositions
from consumers.stored_messages import Route, route_for, stored_message
from domain.base import LedgerEvent
from domain.calendar import day_of
from domain.patient_events import PatientEnrolled

__all__ = ["ACK_TIMEOUT_S", "RELAY_NAME", "Publisher", "Relay", "RelayPositions", "RelayStopped"]

log = logging.getLogger("rems.relay")

BATCH_SIZE = 250
IN_FLIGHT_BATCHES = 2


class Publisher(Protocol):
    """The part of a Kafka producer the relay uses."""

    def send(self, topic: str, value: bytes, key: bytes) -> Any:
        """Queue a message; the returned future resolves when the broker acknowledged it."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued message."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """Stop sending and release the connections."""
        ...


@dataclass(frozen=True)
class SentBatch:
    """Log entries sent to the broker and not yet recorded as acknowledged."""

    last: int
    """The last log position of the batch."""
    entries: int
    """How many log entries it passes (internal ones included)."""
    futures: list[Any]
    """One per message sent."""
    enrolled: list[PatientEnrolled]
    """Its enrollments (their coming of age is noted once the batch is acknowledged)."""
    seen_at: datetime | None
    """The ledger's latest recorded time up to the end of the batch, as its published events
    show it (internal events are not decoded; each comes with published ones, or is a lone
    receipt of a command that recorded nothing)."""


class Relay:
    """Drains the notification log to Kafka, batches pipelined.

    A message is written from the row's stored state (`stored_state`, consumers/
    stored_messages.py) where its class allows, else from the event `decode` gives."""

    def __init__(
        self,
        read: Callable[[int, int], Sequence[Any]],
        decode: Callable[[Any], LedgerEvent],
        positions: RelayPositions,
        new_publisher: Callable[[], Publisher],
        pseudonyms: Pseudonyms,
        batch_size: int = BATCH_SIZE,
        ages: tuple[AgeChanges, PatientLookup, ZoneInfo] | None = None,
        in_flight: int = IN_FLIGHT_BATCHES,
        stored_state: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> None:
        self._read = read
        self._decode = decode
        self._stored_state = stored_state
        self.positions = positions
        self._new_publisher = new_publisher
        self.publisher = new_publisher()
        """The current producer (replaced after a failed batch)."""
        self.pseudonyms = pseudonyms
        """The patients' keyed pseudonyms for message keys and aggregate IDs."""
        self.batch_size = batch_size
        self.in_flight = in_flight
        """How many batches may be sent and not yet recorded at once."""
        self.last_position: int | None = None
        """The last acknowledged position this relay read or wrote (for its log lines)."""
        self.producers_made = 1
        """How many producers this relay has made (1 + one per failed batch)."""
        self._stale = False
        self.ages = ages
        """Minors' coming of age (consumers/age.py): the table, the patients, the zone."""
        self._last_seen_at: datetime | None = None
        self.stop = threading.Event()
        """Set to stop: a wait for acknowledgements gives up with `RelayStopped`."""

    @property
    def most_unrecorded(self) -> int:
        """The most log entries that can be sent and not yet recorded (the tail a crash
        re-sends)."""
        return self.batch_size * self.in_flight

    def close(self, timeout: float = 5.0) -> None:
        """Close the current producer."""
        if not self._stale:
            self.publisher.close(timeout=timeout)

    def renew_publisher(self) -> None:
        """Drop the producer after a failed batch (its state may be beyond recovery); the next
        batch makes a new one (which fails, and is retried, while the broker is away)."""
        self._stale = True
        try:
            self.publisher.close(timeout=0)
        except Exception as error:  # a broken producer may fail to close; it is dropped anyway
            log.info("relay: closing the failed producer: %s: %s", type(error).__name__, error)

    def current_publisher(self) -> Publisher:
        """The producer, a new one if the last batch failed."""
        if self._stale:
            self.publisher = self._new_publisher()
            self._stale = False
            self.producers_made += 1
        return self.publisher

    def publish_batch(self) -> int:
        """Publish the next batch alone and record it once acknowledged; return its entries."""
        return self._publish(most_batches=1)

    def drain(self) -> int:
        """Publish until the log is exhausted; return how many log entries were passed."""
        return self._publish(most_batches=None)

    def _publish(self, most_batches: int | None) -> int:
        after = self.positions.get()
        self.last_position = after
        seen_at = self._last_seen_at
        pending: deque[SentBatch] = deque()
        passed = sent = 0
        try:
            while not self.stop.is_set() and (most_batches is None or sent < most_batches):
                batch = self._send_after(after, seen_at)
                if batch is None:
                    break
                pending.append(batch)
                sent += 1
                after, seen_at = batch.last, batch.seen_at
                if len(pending) >= self.in_flight:
                    passed += self._record(pending.popleft())
            while pending:
                passed += self._record(pending.popleft())
        except RelayStopped:
            raise
        except Exception:
            # Whatever failed (broker or store), the batches still pending are abandoned with
            # the producer: they are sent again, in order, from the recorded position.
            self.renew_publisher()
            raise
        return passed

    def _send_after(self, after: int, seen_at: datetime | None) -> SentBatch | None:
        """Read, encode and send the log entries after a position (None: nothing new)."""
        rows = self._read(after + 1, self.batch_size)
        if not rows:
            return None
        messages = []
        enrolled = []
        for row in rows:
            route = route_for(row.topic)
            if route is None:
                continue  # internal: never published, so not even decoded
            message, recorded, event = self._message(route, row)
            if isinstance(event, PatientEnrolled):
                enrolled.append(event)
            if seen_at is None or recorded > seen_at:
                seen_at = recorded
            messages.append((route.topic, *message))
        # Encoded first, then sent in one burst: the producer's batches fill before its sender
        # thread drains them (interleaved sends made many small requests, each costly).
        publisher = self.current_publisher()
        futures = [publisher.send(topic, value=value, key=key) for topic, key, value in messages]
        return SentBatch(rows[-1].id, len(rows), futures, enrolled, seen_at)

    def _message(
        self, route: Route, row: Any
    ) -> tuple[tuple[bytes, bytes], datetime, LedgerEvent | None]:
        """A row's (key, value) bytes and recorded time, from its stored JSON where the class
        allows, else from its decoded event (returned too)."""
        if route.shape is not None and self._stored_state is not None:
            state = self._stored_state(row)
            origin = (row.originator_id, row.originator_version)
            message = stored_message(route.shape, state, row.id, origin, self.pseudonyms)
            if message is not None:
                return message, datetime.fromisoformat(state["timestamp"]), None
        event = self._decode(row)
        return encoded_message(event, row.id, self.pseudonyms), event.timestamp, event

    def _record(self, batch: SentBatch) -> int:
        """Wait for a batch's acknowledgements, then record its position (and its minors)."""
        await_acknowledgements(batch.futures, self.stop, self.last_position)
        if self.ages is not None and batch.enrolled:
            self.ages[0].note(*batch.enrolled)
        self.positions.set(batch.last)
        self.last_position = batch.last
        self._last_seen_at = batch.seen_at
        self.publish_age_changes(batch.last)
        return batch.entries

    def publish_age_changes(self, position: int) -> int:
        """Send every coming of age due by the ledger's latest time seen; return how many."""
        if self.ages is None or self._last_seen_at is None:
            return 0
        ages, patient_of, tz = self.ages
        sent = 0
        for aggregate, day in ages.due_by(day_of(self._last_seen_at, tz)):
            patient = patient_of(aggregate)
            message = None
            if patient is not None:
                message = age_change_message(
                    aggregate, day, patient, self.pseudonyms, tz, self._last_seen_at, position
                )
            if message is not None:
                future = self.current_publisher().send(
                    AGE_CHANGE_TOPIC,
                    value=message.model_dump_json().encode(),
                    key=message.aggregate_id.encode(),
                )
                await_acknowledgements([future], self.stop, self.last_position)
                sent += 1
            ages.done(aggregate, day)
        return sent

    def follow(
        self,
        stop: threading.Event,
        poll_s: float = 0.5,
        max_backoff_s: float = 30.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Publish new events as they are recorded until `stop` is set; retry with backoff
        (each retry on a new producer)."""
        self.stop = stop
        backoff = 0.5
        while not stop.is_set():
            try:
                published = self.drain()
                backoff = 0.5
                if not published:
                    stop.wait(poll_s)
            except RelayStopped:
                break
            except Exception as error:  # the broker or the store is away: wait, then retry
                if on_error is not None:
                    on_error(error)
                log.warning(
                    "relay: publishing after position %s failed (%s: %s); retrying in %.1f s",
                    self.last_position,
                    type(error).__name__,
                    error,
                    backoff,
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff_s)
        log.info("relay: stopped after position %s", self.last_position)
