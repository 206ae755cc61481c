"""`rems consume safety|projection`: run a downstream consumer of the ledger's topics.

`--once` reads every assigned partition to its end, prints a JSON summary and exits; without it
the consumer follows the topics until SIGINT/SIGTERM. The consumer's database is the ledger's
(`REMS_DATABASE_URL`) unless `--database URL` names another; the projection consumer needs its
own, since it builds tables named like the ledger's read model.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any

from application.ledger import Ledger
from application.queries import default_now
from consumers.envelope import DEAD_LETTER_TOPIC, TOPICS
from consumers.safety import SAFETY_GROUP, SafetyConsumer
from consumers.stream_projection import PROJECTION_GROUP, StreamProjectionConsumer
from consumers.subscriber import Subscriber
from entrypoints.cli.printing import print_json
from infra.kafka_clients import create_topics
from infra.row_cipher import row_sealer
from infra.views import ViewDatabase

FLAG_EVERY_S = 60.0
DRAIN_TIMEOUT_S = 120.0
log = logging.getLogger("rems.consume")


def add_consumer_commands(subparsers: Any) -> None:
    """Register `rems consume safety|projection [--once] [--group G] [--database URL]`."""
    consume = subparsers.add_parser("consume", help="run a downstream consumer of the topics")
    which = consume.add_subparsers(dest="consumer", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--once", action="store_true", help="read to the end and exit")
    common.add_argument("--group", default=None, help="consumer group id")
    common.add_argument(
        "--database", default=None, help="the consumer's database URL (default: the ledger's)"
    )
    safety = which.add_parser(
        "safety",
        parents=[common],
        help=f"safety cases for the MedWatch follow-up (group {SAFETY_GROUP})",
    )
    safety.set_defaults(run=run_safety)
    projection = which.add_parser(
        "projection",
        parents=[common],
        help=f"the eligibility read model from the topics (group {PROJECTION_GROUP})",
    )
    projection.set_defaults(run=run_projection)


def run_safety(args: argparse.Namespace, ledger: Ledger) -> int:
    """Consume into safety cases; flag missing MedWatch/REMS reports after 24 hours."""
    bootstrap = _bootstrap(ledger)
    if bootstrap is None:
        return 2
    store = ViewDatabase(args.database or ledger.settings.database_url)
    consumer = SafetyConsumer(
        bootstrap,
        store,
        group_id=args.group or SAFETY_GROUP,
        tz=ledger.settings.timezone,
        sealer=row_sealer(ledger.settings.cipher_key()),
    )
    try:
        if args.once:
            taken = consumer.subscriber.drain(DRAIN_TIMEOUT_S)
            flagged = consumer.flag_missing_reports(default_now(ledger))
            with store.transaction() as cursor:
                cases = consumer.cases(cursor)
            _summary(
                consumer.subscriber,
                taken,
                cases=len(cases),
                flagged=[c.model_dump(mode="json") for c in flagged],
            )
            return 0
        last_flag = [0.0]

        def flag_now_and_then() -> None:
            if time.monotonic() - last_flag[0] < FLAG_EVERY_S:
                return
            last_flag[0] = time.monotonic()
            for case in consumer.flag_missing_reports(default_now(ledger)):
                log.warning("safety case %s: %s", case.case_id, case.follow_up_flag)

        consumer.subscriber.run(_stop_on_signals(), after_poll=flag_now_and_then)
        return 0
    finally:
        consumer.close()
        store.close()


def run_projection(args: argparse.Namespace, ledger: Ledger) -> int:
    """Consume into the eligibility read model, in the consumer's own database."""
    bootstrap = _bootstrap(ledger)
    if bootstrap is None:
        return 2
    if not args.database or args.database == ledger.settings.database_url:
        print(
            "rems: the projection consumer builds eligibility_* tables like the ledger's own "
            "read model; give it its own database with --database URL",
            file=sys.stderr,
        )
        return 2
    store = ViewDatabase(args.database)
    consumer = StreamProjectionConsumer(
        bootstrap,
        store,
        group_id=args.group or PROJECTION_GROUP,
        sealer=row_sealer(ledger.settings.cipher_key()),
    )
    try:
        if args.once:
            taken = consumer.subscriber.drain(DRAIN_TIMEOUT_S)
            with store.transaction() as cursor:
                parked = consumer.projection.parked(cursor)
                row = cursor.fetchone("SELECT COUNT(*) FROM eligibility_patients")
            _summary(consumer.subscriber, taken, patients=row[0] if row else 0, parked=parked)
            return 0
        consumer.subscriber.run(_stop_on_signals())
        return 0
    finally:
        consumer.close()
        store.close()


def _bootstrap(ledger: Ledger) -> str | None:
    bootstrap = ledger.settings.kafka_bootstrap
    if not bootstrap:
        print("rems: set REMS_KAFKA_BOOTSTRAP=host:port to consume from Kafka", file=sys.stderr)
        return None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    create_topics(bootstrap, [*TOPICS.values(), DEAD_LETTER_TOPIC])
    return bootstrap


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _summary(subscriber: Subscriber, taken: int, **extra: Any) -> None:
    stats = subscriber.stats
    body = {
        "group": subscriber.group_id,
        "taken": taken,
        "applied": stats.applied,
        "duplicates": stats.duplicates,
        "dead_lettered": stats.dead_lettered,
        **extra,
    }
    print_json(body)
