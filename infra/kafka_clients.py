"""Kafka clients for the relay and the consumers (kafka-python), configured for safety."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from typing import Any

with warnings.catch_warnings():
    # kafka-python 3.0 calls importlib.resources' deprecated read_text/open_text on import.
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.coordinator.consumer import ConsumerCoordinator
    from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
    from kafka.net.inet import KafkaNetSocket

__all__ = [
    "DELIVERY_TIMEOUT_MS",
    "KafkaError",
    "KafkaNetSocket",
    "create_topics",
    "finalise_unclosed_sockets",
    "idempotent_producer",
    "manual_commit_consumer",
    "summarise_client_warnings",
]

SUMMARY_INTERVAL_S = 30.0
METADATA_MAX_AGE_MS = 5_000
DELIVERY_TIMEOUT_MS = 120_000
"""How long the relay's producer keeps a message before failing it: longer than the relay waits
for a batch's acknowledgements (`consumers.relay.ACK_TIMEOUT_S`), so the producer never expires
batches itself. kafka-python resets an idempotent producer's ID when it expires a batch, and the
batches after it could then be written ahead of it (out of order); instead the relay gives up
first, force-closes the producer (aborting every pending batch at once) and sends the batch again
on a new one."""


class ClientWarningSummary(logging.Handler):
    """Gathers kafka-python's warnings (one per refused connect, hundreds per outage) into one
    line per kind at first sight and one count per interval on the `rems.kafka` logger."""

    def __init__(self, interval_s: float = SUMMARY_INTERVAL_S) -> None:
        super().__init__(logging.WARNING)
        self.interval_s = interval_s
        self.out = logging.getLogger("rems.kafka")
        self._lock_counts = threading.Lock()
        self._since = time.monotonic()
        self._held = 0
        self._last = ""
        self._seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        """Pass the first record of each logger and level on; count the rest."""
        kind = f"{record.name}:{record.levelno}"
        with self._lock_counts:
            first = kind not in self._seen
            self._seen.add(kind)
            if not first:
                self._held += 1
                self._last = record.getMessage()
            now = time.monotonic()
            due = self._held and now - self._since >= self.interval_s
            held, last, since = self._held, self._last, self._since
            if due or first:
                self._since = now
            if due:
                self._held = 0
        if first:
            self.out.log(record.levelno, "kafka client: %s", record.getMessage())
        if due:
            self.out.warning(
                "kafka client: %d more warnings in the last %.0f s (last: %s)",
                held,
                now - since,
                last,
            )


def summarise_client_warnings(interval_s: float = SUMMARY_INTERVAL_S) -> ClientWarningSummary:
    """Route kafka-python's log through a `ClientWarningSummary` (instead of every record)."""
    kafka_log = logging.getLogger("kafka")
    for handler in list(kafka_log.handlers):
        if isinstance(handler, ClientWarningSummary):
            kafka_log.removeHandler(handler)
    summary = ClientWarningSummary(interval_s)
    kafka_log.addHandler(summary)
    kafka_log.setLevel(logging.WARNING)
    kafka_log.propagate = False
    return summary


class ClosingProducer(KafkaProducer):  # type: ignore[misc]  # kafka-python is untyped
    """A `KafkaProducer` whose `close(timeout)` always closes.

    kafka-python 3.0's `close` flushes first and raises `KafkaTimeoutError` when messages are
    still pending, before it would force its sender thread closed, so a relay stalled on a
    dead broker could not be stopped (and the producer's finaliser raised again). Here the
    pending messages are abandoned (their position was never recorded: they are sent again)."""

    def close(self, timeout: float | None = None, null_logger: bool = False) -> None:
        """Close within `timeout`, abandoning what is still unacknowledged."""
        try:
            super().close(timeout=timeout, null_logger=null_logger)
        except KafkaTimeoutError:
            sender = getattr(self, "_sender", None)
            if sender is not None:
                sender.force_close()
                sender.join(5.0)
            self._closed = True
        finalise_unclosed_sockets()


def keep_rejoin_in_flight() -> None:
    """Make a consumer finish a group rejoin that outlasted one `poll(timeout_ms)`.

    kafka-python 3.0.12 keeps the JoinGroup/SyncGroup task across polls, but only awaits it
    again while `need_rejoin()` holds. A rejoin the group leader starts because metadata
    changed (a topic it subscribed to appears or grows) turns `need_rejoin()` false while the
    task is in flight (the leader records the new metadata as assigned), so when the poll gives
    up first the finished join is never applied and the member keeps no partitions for good:
    on a loaded machine a consumer then never reads. Here a join task still held counts as a
    rejoin in progress. Idempotent; applied when this module is imported."""
    if getattr(ConsumerCoordinator.need_rejoin, "keeps_rejoin_in_flight", False):
        return
    original = ConsumerCoordinator.need_rejoin

    def need_rejoin(self: Any) -> bool:
        return getattr(self, "_join_task", None) is not None or bool(original(self))

    need_rejoin.keeps_rejoin_in_flight = True  # type: ignore[attr-defined]
    ConsumerCoordinator.need_rejoin = need_rejoin


keep_rejoin_in_flight()


def close_failed_connects() -> None:
    """Make a failed connect close its socket.

    kafka-python 3.0.12's `KafkaNetSocket.connect` makes a socket and leaves it open when the
    connect is refused or times out, so every reconnect to an absent broker (the relay's and the
    consumers' retries through an outage) leaks a descriptor until the collector finds it, and
    a connect that timed out on a loaded machine may even complete, unowned. Here the socket is
    closed when the connect fails. Idempotent; applied when this module is imported."""
    if getattr(KafkaNetSocket.connect, "closes_failed_connects", False):
        return

    async def connect(
        self: Any,
        net: Any,
        addrinfo: tuple[Any, ...],
        socket_options: Sequence[tuple[Any, ...]] = (),
        timeout_at: float | None = None,
    ) -> Any:
        family, sock_type, proto, _canonname, sockaddr = addrinfo
        sock = self.socket(family, sock_type, proto)
        try:
            sock.setblocking(False)
            for option in socket_options:
                sock.setsockopt(*option)
            return await self.sock_connect(net, sock, sockaddr, timeout_at=timeout_at)
        except BaseException:
            sock.close()
            raise

    connect.closes_failed_connects = True  # type: ignore[attr-defined]
    KafkaNetSocket.connect = connect


close_failed_connects()


def idempotent_producer(bootstrap: str, topics: Sequence[str] = (), **overrides: Any) -> Any:
    """A producer that never duplicates or reorders on retry: idempotence, acks from all
    in-sync replicas, bounded in-flight requests. With `topics`, their metadata is fetched
    before it is returned (else the first send to each waits for it, one topic at a time)."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "retries": 2_147_483_647,
        "linger_ms": 5,
        # Fail fast enough that an absent broker is noticed, logged and retried by the relay
        # (which re-sends the unacknowledged batch) rather than waited on silently.
        "max_block_ms": 5_000,
        "request_timeout_ms": 5_000,
        "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
        # A new producer made while the broker is away gives up soon (the relay retries it).
        "bootstrap_timeout_ms": 5_000,
        "reconnect_backoff_ms": 100,
        "reconnect_backoff_max_ms": 1_000,
        "client_id": "rems-relay",
    }
    settings.update(overrides)
    try:
        producer = ClosingProducer(**settings)
    except KafkaError as error:
        # A new exception without the traceback, whose frames hold the failed sockets.
        failure = KafkaError(f"{type(error).__name__}: {error}")
    else:
        try:
            for topic in topics:
                producer.partitions_for(topic)
        except KafkaError as error:
            producer.close(timeout=0)
            failure = KafkaError(f"{type(error).__name__}: {error}")
        else:
            return producer
    finalise_unclosed_sockets()
    raise failure


def finalise_unclosed_sockets() -> None:
    """Finalise, quietly, the sockets kafka-python 3.0 leaves unclosed (a failed bootstrap, a
    forced close), rather than as ResourceWarnings wherever the collector next runs."""
    if sys.is_finalizing():  # a producer's finaliser at interpreter exit: nothing is left to warn
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "unclosed <socket", ResourceWarning)
        gc.collect()


def manual_commit_consumer(bootstrap: str, group_id: str, **overrides: Any) -> Any:
    """A consumer in a group that commits offsets only when told to."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": f"rems-{group_id}",
        # A topic created after this consumer subscribed (or not yet served when its group
        # formed) is picked up within seconds instead of the default five minutes.
        "metadata_max_age_ms": METADATA_MAX_AGE_MS,
    }
    settings.update(overrides)
    return KafkaConsumer(**settings)


TOPIC_READY_TIMEOUT_S = 30.0


def create_topics(
    bootstrap: str, names: list[str], partitions: int = 3, timeout_s: float = TOPIC_READY_TIMEOUT_S
) -> None:
    """Create topics that do not exist yet (replication factor 1: the dev/test broker) and
    return once the broker's metadata shows every partition of each with a leader.

    Creation is accepted by the controller before the broker serves the topic; a consumer
    that joined its group in that gap was assigned nothing for it. Raises `KafkaError` if the
    topics are not served within `timeout_s`."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="rems-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=1)
            for name in names
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
        _wait_until_served(admin, names, timeout_s)
    finally:
        admin.close()


def _wait_until_served(admin: Any, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = sorted(set(names))
    while waiting:
        try:
            described = admin.describe_topics(waiting)
        except KafkaError:
            described = []
        served = {
            topic["name"]
            for topic in described
            if topic.get("error_code", 0) == 0
            and topic.get("partitions")
            and all(
                partition.get("error_code", 0) == 0 and partition.get("leader_id", -1) >= 0
                for partition in topic["partitions"]
            )
        }
        waiting = [name for name in waiting if name not in served]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise KafkaError(f"topics not served after {timeout_s:.0f} s: {', '.join(waiting)}")
        time.sleep(0.1)
