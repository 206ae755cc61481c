"""`rems relay`, `rems schemas`, `rems kafka up|down`: the ledger's side of Kafka."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from application.ledger import Ledger
from audit.tree_heads import TREE_HEADS_TOPIC, Sender
from consumers.age import AgeChanges
from consumers.envelope import DEAD_LETTER_TOPIC, TOPICS
from consumers.pseudonyms import pseudonyms_for
from consumers.relay import Relay, RelayPositions
from consumers.schemas import write_schemas
from entrypoints.cli.printing import print_json
from entrypoints.cli.tree_head_schedule import every, publish_tree_head
from infra.kafka_clients import create_topics, idempotent_producer, summarise_client_warnings
from infra.row_cipher import row_sealer
from infra.settings import Settings
from infra.views import ViewDatabase


def build_relay(ledger: Ledger, bootstrap: str) -> tuple[Relay, ViewDatabase]:
    """A relay over the ledger's notification log to the cluster at `bootstrap` (close both:
    `relay.close()`, `database.close()`)."""
    topics = [*TOPICS.values(), DEAD_LETTER_TOPIC, TREE_HEADS_TOPIC]
    create_topics(bootstrap, topics)
    database = ViewDatabase(ledger.settings.database_url)
    try:
        relay = Relay(
            read=ledger.notifications.read_rows,
            decode=ledger.notifications.decode,
            stored_state=ledger.notifications.stored_state,
            positions=RelayPositions(database),
            new_publisher=lambda: idempotent_producer(bootstrap, topics),
            pseudonyms=pseudonyms_for(ledger.settings, database),
            ages=(
                AgeChanges(database, row_sealer(ledger.settings.cipher_key())),
                ledger.patient_state_by_id,
                ledger.settings.timezone,
            ),
        )
    except BaseException:
        database.close()
        raise
    # The store's pseudonym secret is written durably above; from here on the connection keeps
    # positions and coming-of-age days, whose loss in a power cut only re-sends the tail.
    database.relax_durability()
    return relay, database


def relay_sender(relay: Relay) -> Sender:
    """Send through the relay's current producer (it is renewed after a failed batch),
    waiting for the acknowledgement."""

    def send(topic: str, key: bytes, value: bytes) -> None:
        relay.current_publisher().send(topic, value=value, key=key).get(timeout=20)

    return send


def _cmd_relay(args: argparse.Namespace, ledger: Ledger) -> int:
    bootstrap = ledger.settings.kafka_bootstrap
    if not bootstrap:
        print("rems: set REMS_KAFKA_BOOTSTRAP=host:port to publish to Kafka", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    summarise_client_warnings()
    relay, database = build_relay(ledger, bootstrap)
    try:
        send = relay_sender(relay)
        if args.once:
            passed = relay.drain()
            publish_tree_head(ledger, send)
            print_json({"published_through": relay.positions.get(), "log_entries": passed})
            return 0
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if args.tree_heads_every > 0:
            every(args.tree_heads_every, ledger, send, stop)
        relay.follow(stop)
        return 0
    finally:
        relay.close(timeout=2 if relay.stop.is_set() else 10)
        database.close()


def _cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    written = write_schemas(Path(args.out_dir))
    for path in written:
        print(path)
    return 0


def _cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from devtools.kafka_broker import main as broker_main

    return broker_main([args.what])


def add_kafka_commands(sub: Any) -> None:
    """Register the Kafka sub-commands."""
    relay = sub.add_parser("relay", help="publish the ledger's events to Kafka")
    relay.add_argument("--once", action="store_true", help="drain the log and exit")
    relay.add_argument(
        "--tree-heads-every",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="publish a signed tree head this often (0: never); needs REMS_SIGNING_KEY_FILE",
    )
    relay.set_defaults(run=_cmd_relay)
    schemas = sub.add_parser("schemas", help="write the topics' JSON Schemas to OUT_DIR")
    schemas.add_argument("out_dir")
    schemas.set_defaults(offline=_cmd_schemas)
    kafka = sub.add_parser("kafka", help="start or stop a local single-node broker")
    kafka.add_argument("what", choices=["up", "down", "status"])
    kafka.set_defaults(offline=_cmd_kafka)
