"""The relay's schedule of tree heads (AUDIT-FORMAT.md §7): while `rems relay` runs with a
signing key, it publishes a signed tree head every `--tree-heads-every` seconds (when the log
grew since the last one) to `REMS_STH_FILE` and the topic `rems.tree-heads`, each with its
consistency proof from the previous one; `rems relay --once` publishes one after draining.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from audit.keys import KeyError_, load_signing_key
from audit.log_tree import LogTree
from audit.tree_heads import BadInput, Sender, last_published, publish, sign_tree_head

if TYPE_CHECKING:
    from application.ledger import Ledger

log = logging.getLogger("rems.tree-heads")


def producer_sender(producer: Any) -> Sender:
    """Send through the relay's idempotent producer, waiting for the acknowledgement."""

    def send(topic: str, key: bytes, value: bytes) -> None:
        producer.send(topic, value=value, key=key).get(timeout=20)

    return send


def publish_tree_head(ledger: Ledger, send: Sender | None) -> dict[str, Any] | None:
    """Sign and publish a head when the log grew since the last published one; the STH, or
    None when there was nothing new or no signing key."""
    key_file = ledger.settings.signing_key_file
    if key_file is None:
        return None
    try:
        key = load_signing_key(key_file)
        previous = last_published(ledger.settings.sth_file)
        with LogTree(ledger) as tree:
            snapshot = tree.snapshot()
            if previous is not None and previous["tree_size"] >= snapshot.tree_size:
                return None
            sth = sign_tree_head(snapshot, key)
            publish(tree, sth, ledger.settings.sth_file, send)
    except (KeyError_, BadInput) as error:
        log.warning("tree heads: not published (%s)", error)
        return None
    log.info("tree heads: published tree head %s", sth["tree_size"])
    return sth


def every(
    seconds: float, ledger: Ledger, send: Sender | None, stop: threading.Event
) -> threading.Thread:
    """A daemon thread publishing a head every `seconds` until `stop` is set."""

    def run() -> None:
        while not stop.wait(seconds):
            try:
                publish_tree_head(ledger, send)
            # The broker or the store may be away: say so and try again next time.
            except Exception as error:
                log.warning("tree heads: publishing failed (%s: %s)", type(error).__name__, error)

    thread = threading.Thread(target=run, name="rems-tree-heads", daemon=True)
    thread.start()
    return thread
