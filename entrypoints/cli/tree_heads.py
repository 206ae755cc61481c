"""`rems keys`, `rems sth`, `rems prove`, `rems consistency` (AUDIT-FORMAT.md §4, §5, §7).

Exit status: 0 done; 2 when the request cannot be served (no signing key, a key file already
there, a tree size beyond the log, a malformed number): the message goes to stderr, nothing is
signed or written. `keys` needs no event store (`offline`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.keys import (
    KeyError_,
    current_record,
    init_key,
    key_records,
    load_signing_key,
    rotate_key,
)
from audit.log_tree import LogTree
from audit.tree_heads import (
    BadInput,
    Sender,
    consistency_proof,
    inclusion_proof,
    publish,
    sign_tree_head,
)
from entrypoints.cli.printing import print_json
from infra.secrets import SecretFileError, create_encryption_key_file
from infra.settings import Settings

if TYPE_CHECKING:
    from application.ledger import Ledger


def add_tree_head_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `keys`, `sth`, `prove` and `consistency`."""
    keys = subparsers.add_parser("keys", help="the tree-head signing key")
    keys_sub = keys.add_subparsers(dest="keys_action", required=True)
    init = keys_sub.add_parser("init", help="create REMS_SIGNING_KEY_FILE (and the encryption key)")
    init.add_argument(
        "--rotate", action="store_true", help="retire the current key, make a new one"
    )
    init.set_defaults(offline=run_keys_init)
    public = keys_sub.add_parser("public", help="print the public key record(s)")
    public.add_argument("--all", action="store_true", help="every record, retired ones included")
    public.add_argument("--json", action="store_true")
    public.set_defaults(offline=run_keys_public)
    sth = subparsers.add_parser("sth", help="a signed tree head over the whole log now")
    sth.add_argument("--publish", action="store_true", help="append to REMS_STH_FILE and Kafka")
    sth.add_argument("--json", action="store_true")
    sth.set_defaults(run=run_sth)
    prove = subparsers.add_parser("prove", help="an RFC 9162 inclusion proof of one event")
    prove.add_argument("position", type=int, help="the event's log position")
    prove.add_argument("--tree-size", type=int, required=True, metavar="N")
    prove.add_argument("--json", action="store_true")
    prove.set_defaults(run=_guarded(lambda a, t: inclusion_proof(t, a.position, a.tree_size)))
    consistency = subparsers.add_parser("consistency", help="an RFC 9162 consistency proof")
    consistency.add_argument("first", type=int, metavar="M")
    consistency.add_argument("second", type=int, metavar="N")
    consistency.add_argument("--json", action="store_true")
    consistency.set_defaults(run=_guarded(lambda a, t: consistency_proof(t, a.first, a.second)))


def _fail(command: str, error: Exception) -> int:
    print(f"rems {command}: {error}", file=sys.stderr)
    return 2


def run_keys_init(args: argparse.Namespace, settings: Settings) -> int:
    """`rems keys init [--rotate]`."""
    if settings.signing_key_file is None:
        return _fail("keys init", KeyError_("REMS_SIGNING_KEY_FILE is not set"))
    try:
        if args.rotate:
            record = rotate_key(settings.signing_key_file)
        else:
            record = init_key(settings.signing_key_file)
    except (KeyError_, OSError) as error:
        return _fail("keys init", error)
    encryption = encryption_key_path()
    if encryption is not None:
        try:
            create_encryption_key_file(encryption)
        except SecretFileError:
            pass  # it exists: a key is never overwritten
        except OSError as error:
            return _fail("keys init", error)
        else:
            print(f"rems keys init: created the encryption key {encryption}", file=sys.stderr)
    print_json(record)
    return 0


def encryption_key_path() -> Path | None:
    """`REMS_ENCRYPTION_KEY_FILE` (read here: the encryption settings are another module's)."""
    value = os.environ.get("REMS_ENCRYPTION_KEY_FILE")
    return Path(value) if value else None


def run_keys_public(args: argparse.Namespace, settings: Settings) -> int:
    """`rems keys public [--all] --json`."""
    try:
        current = current_record(settings.signing_key_file)
        if not args.all:
            print_json(current)
            return 0
        assert settings.signing_key_file is not None, "current_record needs a key file"
        records = key_records(settings.signing_key_file)
    except KeyError_ as error:
        return _fail("keys public", error)
    if not any(r.get("key_id") == current["key_id"] for r in records):
        records.append(current)
    print_json(records)
    return 0


def kafka_sender(settings: Settings) -> Sender | None:
    """A sender to the configured Kafka cluster (None when there is none)."""
    if settings.kafka_bootstrap is None:
        return None
    from infra.kafka_clients import idempotent_producer

    def send(topic: str, key: bytes, value: bytes) -> None:
        producer = idempotent_producer(settings.kafka_bootstrap or "", client_id="rems-sth")
        try:
            producer.send(topic, value=value, key=key).get(timeout=20)
        finally:
            producer.close()

    return send


def run_sth(args: argparse.Namespace, ledger: Ledger) -> int:
    """`rems sth [--publish] --json`: exit 2 without a signing key."""
    try:
        key = load_signing_key(ledger.settings.signing_key_file)
    except KeyError_ as error:
        return _fail("sth", error)
    with LogTree(ledger) as tree:
        sth = sign_tree_head(tree.snapshot(), key)
        if args.publish:
            try:
                publish(tree, sth, ledger.settings.sth_file, kafka_sender(ledger.settings))
            except BadInput as error:
                return _fail("sth", error)
    if args.json:
        print_json(sth)
    else:
        print(f"tree head {sth['tree_size']} (position {sth['last_position']}) key {sth['key_id']}")
        print(f"  root_hash  {sth['root_hash']}\n  heads_root {sth['heads_root']}")
    return 0


def _guarded(
    answer: Callable[[argparse.Namespace, LogTree], dict[str, Any]],
) -> Callable[[argparse.Namespace, Ledger], int]:
    def run(args: argparse.Namespace, ledger: Ledger) -> int:
        with LogTree(ledger) as tree:
            try:
                proof = answer(args, tree)
            except BadInput as error:
                return _fail(args.action, error)
        print_json(proof)
        return 0

    return run
