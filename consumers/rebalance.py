"""Commit-on-revoke: a subscriber's rebalance listener, so a partition's new owner starts where
this member stopped (the processed offsets are committed before the group moves on)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

with warnings.catch_warnings():
    # kafka-python 3.0 calls importlib.resources' deprecated read_text/open_text on import.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import AsyncConsumerRebalanceListener, TopicPartition

if TYPE_CHECKING:
    from consumers.subscriber import Subscriber

log = logging.getLogger("rems.consumers")


class CommitOnRevoke(AsyncConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped: its base is Any
    """Commits the processed offsets of partitions before they are revoked.

    kafka-python 3 runs rebalance listeners on the consumer's I/O thread, where the blocking
    `commit()` is refused; the async listener awaits `commit_async()` instead, so the commit is
    acknowledged before the group moves on and heartbeats keep running meanwhile.
    """

    def __init__(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Commit the processed offsets of the revoked partitions before the group moves on."""
        offsets = self._subscriber._take_pending(revoked)
        if not offsets:
            return
        try:
            await self._subscriber.consumer.commit_async(offsets)
        except Exception as error:  # a failed commit only means some redelivery (deduplicated)
            log.warning("%s: commit on revoke failed (%s)", self._subscriber.group_id, error)
            return
        self._subscriber.stats.commits += 1
        log.info("%s: committed %s on revoke", self._subscriber.group_id, show_offsets(offsets))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Log the new assignment (positions come from the group's committed offsets)."""
        log.info("%s: assigned %s", self._subscriber.group_id, sorted(assigned))

    async def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
        """Evicted from the group: the partitions cannot be committed any more; the new owner
        re-reads from the last commit and skips what was applied by event ID."""
        self._subscriber._take_pending(lost)
        log.warning("%s: lost partitions %s", self._subscriber.group_id, sorted(lost))


def show_offsets(offsets: Mapping[TopicPartition, Any]) -> str:
    """Offsets as `topic[partition]@offset`, for the log."""
    return ", ".join(f"{tp.topic}[{tp.partition}]@{m.offset}" for tp, m in offsets.items())
