"""Subscribe a handler to the ledger's topics: each effect applied once, offsets committed after.

For every message the subscriber opens one database transaction, records the event ID in
`consumer_processed` and runs the handler in it, so a redelivered event (the relay's re-sent
tail, a consumer restarted before its offset commit) finds its ID and is skipped: effects are
applied once. Offsets are committed by hand, only for messages whose transaction committed:
after each poll (or every `commit_interval_s`), on close, and when partitions are revoked in a
rebalance (commit-on-revoke), so a new owner starts where this one stopped. A message that is
not an envelope, or that the handler rejects as bad data, goes to the dead-letter topic with the
reason and its source topic, partition and offset; the consumer then goes on.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from consumers.envelope import DEAD_LETTER_TOPIC, Envelope
from consumers.messages import message_text, parse_message
from consumers.rebalance import CommitOnRevoke
from infra.kafka_clients import idempotent_producer, manual_commit_consumer
from infra.views import Cursor, ViewDatabase

with warnings.catch_warnings():
    # kafka-python 3.0 calls importlib.resources' deprecated read_text/open_text on import.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import OffsetAndMetadata, TopicPartition

log = logging.getLogger("rems.consumers")

Handler = Callable[[Envelope, Cursor], None]
"""Applies one event's effects through the cursor of the subscriber's transaction."""

DATA_ERRORS: tuple[type[Exception], ...] = (ValueError, LookupError, TypeError)
"""Handler errors that mean "this message's data is unusable": dead-lettered, not retried.
Anything else (the database or the broker away) is raised and the message is retried."""

DEAD_LETTER_TIMEOUT_S = 30.0

DEFAULT_CONSUMER_SETTINGS: dict[str, Any] = {
    "session_timeout_ms": 10_000,
    "heartbeat_interval_ms": 1_000,
    "max_poll_interval_ms": 60_000,
    "max_poll_records": 200,
}
"""Settings that keep rebalances quick (kafka-python's defaults are 45 s sessions and 5-minute
poll intervals): a member silent for 10 s is dropped, and a rebalance waits at most a minute
for a member busy with its batch (200 messages, one short transaction each)."""


class DataError(ValueError):
    """Raised by a handler for a message whose content it cannot use (dead-lettered)."""


@dataclass
class SubscriberStats:
    """What a subscriber did since it started."""

    applied: int = 0
    """Messages whose effects were applied (first delivery of an event ID)."""
    duplicates: int = 0
    """Messages skipped because their event ID was already processed."""
    dead_lettered: int = 0
    """Messages sent to the dead-letter topic."""
    commits: int = 0
    """Offset commits that succeeded, including those on revoke and on close."""


class Subscriber:
    """A consumer-group member that feeds envelopes to a handler, exactly once in effect."""

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
        store: ViewDatabase,
        dead_letter_topic: str = DEAD_LETTER_TOPIC,
        *,
        commit_interval_s: float = 0.0,
        consumer_settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Join `group_id` on `topics`; `commit_interval_s` 0 commits after every poll."""
        self.group_id = group_id
        """The consumer group (and the key of this subscriber's processed event IDs)."""
        self.topics = list(topics)
        """The subscribed topics."""
        self.handler = handler
        """Applies one event's effects inside the subscriber's transaction."""
        self.store = store
        """The database of the effects and of `consumer_processed`."""
        self.dead_letter_topic = dead_letter_topic
        """Where unusable messages go."""
        self.commit_interval_s = commit_interval_s
        """Seconds between offset commits after polls (0: after every poll)."""
        self.stats = SubscriberStats()
        """Counts of applied, duplicate and dead-lettered messages, and of commits."""
        with store.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS consumer_processed (group_id TEXT NOT NULL, "
                "event_id TEXT NOT NULL, PRIMARY KEY (group_id, event_id))"
            )
        settings = {**DEFAULT_CONSUMER_SETTINGS, **(consumer_settings or {})}
        self.consumer: Any = manual_commit_consumer(bootstrap, group_id, **settings)
        """The kafka-python consumer (auto-commit off)."""
        self._producer: Any = idempotent_producer(bootstrap, client_id=f"rems-{group_id}-dlq")
        self._pending: dict[TopicPartition, int] = {}
        self._lock = threading.Lock()
        self._last_commit = time.monotonic()
        self.consumer.subscribe(self.topics, listener=CommitOnRevoke(self))

    # -- the loop ----------------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 1000) -> int:
        """Fetch one batch, process each message in its own transaction, commit; return how
        many messages were taken (applied, duplicate or dead-lettered)."""
        batches: dict[TopicPartition, list[Any]] = self.consumer.poll(timeout_ms=timeout_ms)
        taken = 0
        done: dict[TopicPartition, int] = {}
        for partition, records in batches.items():
            for record in records:
                try:
                    self._process(record)
                except BaseException:
                    self._rewind(batches, done)
                    raise
                done[partition] = record.offset + 1
                with self._lock:
                    self._pending[partition] = record.offset + 1
                taken += 1
        with self._lock:
            anything = bool(self._pending)
        if anything and time.monotonic() - self._last_commit >= self.commit_interval_s:
            self.commit()
        return taken

    def run(
        self,
        stop: threading.Event,
        poll_timeout_ms: int = 500,
        after_poll: Callable[[], None] | None = None,
    ) -> None:
        """Poll until `stop` is set, calling `after_poll` after each poll; on a failure (the
        database or the broker away) wait, growing the pause, and retry."""
        backoff = 0.5
        while not stop.is_set():
            try:
                self.poll_once(poll_timeout_ms)
                if after_poll is not None:
                    after_poll()
                backoff = 0.5
            except Exception as error:
                log.warning(
                    "%s: processing failed (%s: %s); retrying in %.1f s",
                    self.group_id,
                    type(error).__name__,
                    error,
                    backoff,
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def drain(self, timeout_s: float = 60.0, poll_timeout_ms: int = 200) -> int:
        """Poll until every assigned partition is read to its end; return messages taken.
        Raises TimeoutError if that does not happen within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        taken = 0
        while time.monotonic() < deadline:
            taken += self.poll_once(poll_timeout_ms)
            if self.caught_up():
                self.commit()
                return taken
        msg = f"{self.group_id}: not caught up after {timeout_s:.0f} s"
        raise TimeoutError(msg)

    def caught_up(self) -> bool:
        """Whether this member has partitions and has read each to its current end."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return False
        ends: dict[TopicPartition, int] = self.consumer.end_offsets(assigned)
        return all(self.consumer.position(tp) >= ends[tp] for tp in assigned)

    def commit(self) -> None:
        """Commit the offsets of every message processed since the last commit."""
        with self._lock:
            offsets = {tp: OffsetAndMetadata(o, "", -1) for tp, o in self._pending.items()}
        self._last_commit = time.monotonic()
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except Exception as error:  # rebalancing: the revoke listener commits them instead
            log.warning("%s: offset commit failed (%s)", self.group_id, error)
            return
        self.stats.commits += 1
        with self._lock:
            for tp, meta in offsets.items():
                if self._pending.get(tp) == meta.offset:
                    del self._pending[tp]

    def close(self) -> None:
        """Commit what was processed, leave the group and close the clients (not the store)."""
        self.commit()
        self.consumer.close()
        self._producer.close(timeout=10)

    # -- one message -------------------------------------------------------------------

    def _process(self, record: Any) -> None:
        try:
            message = parse_message(record.value)
        except ValueError as error:
            self._dead_letter(record, f"not an envelope: {error}")
            return
        try:
            with self.store.transaction() as cursor:
                first = cursor.execute(
                    "INSERT INTO consumer_processed (group_id, event_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (self.group_id, message.event_id),
                )
                if first:
                    self.handler(message, cursor)
        except DATA_ERRORS as error:
            self._dead_letter(record, f"{message.type} rejected: {type(error).__name__}: {error}")
            return
        if first:
            self.stats.applied += 1
        else:
            self.stats.duplicates += 1

    def _dead_letter(self, record: Any, reason: str) -> None:
        body = {
            "reason": reason,
            "group_id": self.group_id,
            "source_topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": message_text(record.key),
            "value": message_text(record.value),
            "dead_lettered_at": datetime.now(UTC).isoformat(),
        }
        future = self._producer.send(
            self.dead_letter_topic, value=orjson.dumps(body), key=record.key
        )
        future.get(timeout=DEAD_LETTER_TIMEOUT_S)  # acknowledged before the offset moves on
        self.stats.dead_lettered += 1
        log.warning(
            "%s: %s[%d]@%d dead-lettered: %s",
            self.group_id,
            record.topic,
            record.partition,
            record.offset,
            reason,
        )

    def _rewind(
        self, batches: Mapping[TopicPartition, list[Any]], done: Mapping[TopicPartition, int]
    ) -> None:
        """After a failure, seek each partition of the batch back to its first message not
        processed, so the next poll retries it instead of skipping it."""
        for partition, records in batches.items():
            first_left = done.get(partition, records[0].offset)
            if first_left <= records[-1].offset:
                self.consumer.seek(partition, first_left)

    def _take_pending(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, Any]:
        with self._lock:
            return {
                tp: OffsetAndMetadata(self._pending.pop(tp), "", -1)
                for tp in list(partitions)
                if tp in self._pending
            }
