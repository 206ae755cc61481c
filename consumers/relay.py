"""The relay: publishes the ledger's events to Kafka in notification-log order.

The last published position is stored durably in the ledger's own database and moved only after
the broker acknowledged every message up to it (idempotent producer, `acks=all`): a crash loses
nothing and re-sends at most the unacknowledged tail, which consumers drop by event ID. While the
broker is away the relay retries with a growing pause and says so in its log.

A batch that fails leaves the producer suspect: kafka-python resets an idempotent producer's ID
when a batch expires in flight (the broker dead longer than the delivery timeout) and that
producer may never send again. So after a failed batch the relay closes its producer and makes
a new one from its factory before the retry, and the unacknowledged tail is sent once more.
Stopping (`stop` set) interrupts the wait for acknowledgements, so a stalled relay exits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from consumers.age import AGE_CHANGE_TOPIC, AgeChanges, PatientLookup, age_change_message
from consumers.envelope import envelope, topic_for
from consumers.pseudonyms import Pseudonyms
from domain.base import LedgerEvent
from domain.calendar import day_of
from domain.patient_events import PatientEnrolled
from infra.views import ViewDatabase

log = logging.getLogger("rems.relay")

RELAY_NAME = "kafka"
ACK_TIMEOUT_S = 20.0
ACK_PATIENCE_S = 3.0
"""How long the relay waits for acknowledgements before saying in its log that it is waiting."""


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


class RelayStopped(Exception):
    """`stop` was set while the relay waited for the broker; the batch is left unrecorded."""


class RelayPositions:
    """The relay's last acknowledged log position, in the ledger's database."""

    def __init__(self, database: ViewDatabase, name: str = RELAY_NAME) -> None:
        self.database = database
        self.name = name
        with database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS relay_positions "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO relay_positions (name, position) VALUES (?, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            )

    def get(self) -> int:
        """The last position the broker acknowledged."""
        with self.database.transaction() as cursor:
            row = cursor.fetchone(
                "SELECT position FROM relay_positions WHERE name = ?", (self.name,)
            )
        return int(row[0]) if row else 0

    def set(self, position: int) -> None:
        """Record a new acknowledged position."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE relay_positions SET position = ? WHERE name = ?", (position, self.name)
            )


class Relay:
    """Drains the notification log to Kafka, batch by batch."""

    def __init__(
        self,
        read: Callable[[int, int], Sequence[Any]],
        decode: Callable[[Any], LedgerEvent],
        positions: RelayPositions,
        new_publisher: Callable[[], Publisher],
        pseudonyms: Pseudonyms,
        batch_size: int = 500,
        ages: tuple[AgeChanges, PatientLookup, ZoneInfo] | None = None,
    ) -> None:
        self._read = read
        self._decode = decode
        self.positions = positions
        self._new_publisher = new_publisher
        self.publisher = new_publisher()
        """The current producer (replaced after a failed batch)."""
        self.pseudonyms = pseudonyms
        """The patients' keyed pseudonyms for message keys and aggregate IDs."""
        self.batch_size = batch_size
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
        """Publish the next batch and move the position once all is acknowledged."""
        start = self.positions.get()
        self.last_position = start
        rows = self._read(start + 1, self.batch_size)
        if not rows:
            return 0
        publisher = self.current_publisher()
        futures = []
        for row in rows:
            event = self._decode(row)
            if self.ages is not None and isinstance(event, PatientEnrolled):
                self.ages[0].note(event)
            if self._last_seen_at is None or event.timestamp > self._last_seen_at:
                self._last_seen_at = event.timestamp
            topic = topic_for(event)
            if topic is None:
                continue
            message = envelope(event, row.id, self.pseudonyms)
            futures.append(
                publisher.send(
                    topic,
                    value=message.model_dump_json().encode(),
                    key=message.aggregate_id.encode(),
                )
            )
        try:
            self._await_acknowledgements(len(futures))
            for future in futures:
                future.get(timeout=ACK_TIMEOUT_S)  # raises if the broker did not acknowledge
        except RelayStopped:
            raise
        except Exception:
            self.renew_publisher()
            raise
        self.positions.set(rows[-1].id)
        self.last_position = rows[-1].id
        self.publish_age_changes(rows[-1].id)
        return len(rows)

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
                try:
                    self._await_acknowledgements(1)
                    future.get(timeout=ACK_TIMEOUT_S)
                except RelayStopped:
                    raise
                except Exception:
                    self.renew_publisher()
                    raise
                sent += 1
            ages.done(aggregate, day)
        return sent

    def _await_acknowledgements(self, count: int) -> None:
        """Flush, saying in the log when the broker is slow to acknowledge (it may be away)."""
        deadline = time.monotonic() + ACK_TIMEOUT_S
        while True:
            try:
                self.publisher.flush(timeout=ACK_PATIENCE_S)
                return
            except Exception as error:
                if self.stop.is_set():
                    raise RelayStopped from error
                if time.monotonic() >= deadline:
                    raise
                log.warning(
                    "relay: %d messages after position %s not yet acknowledged (%s); "
                    "retrying until the broker answers",
                    count,
                    self.last_position,
                    type(error).__name__,
                )

    def drain(self) -> int:
        """Publish until the log is exhausted; return how many log entries were passed."""
        total = 0
        while not self.stop.is_set() and (batch := self.publish_batch()):
            total += batch
        return total

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
