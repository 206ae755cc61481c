"""The `rems` command line: commands, queries, audit and the demo.

Each sub-command's module is imported only when that sub-command runs, so `rems --help` and a
query start without FastAPI, kafka-python or psycopg; `COMMANDS` names every sub-command and
its help for the top-level `--help` (a test keeps it equal to what the modules register).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from application.errors import RemsError

GROUPS: dict[str, tuple[str, str]] = {
    "ledger": ("entrypoints.cli.ledger_commands", "add_ledger_commands"),
    "audit": ("entrypoints.cli.audit", "add_audit_commands"),
    "export": ("entrypoints.cli.export", "add_export_command"),
    "tree_heads": ("entrypoints.cli.tree_heads", "add_tree_head_commands"),
    "kafka": ("entrypoints.cli.kafka", "add_kafka_commands"),
    "api": ("entrypoints.cli.serve", "add_api_commands"),
    "consumers": ("entrypoints.cli.consumers", "add_consumer_commands"),
}
"""Where each group of sub-commands is registered: (module, function adding its parsers)."""

COMMANDS: dict[str, tuple[str, str]] = {
    "apply": ("ledger", "apply JSON Lines commands from FILE (or - for stdin)"),
    "eligibility": ("ledger", "would an authorization be issued? (read model)"),
    "history": ("ledger", "the patient's events in recorded order"),
    "due": ("ledger", "what is due or overdue per patient (work queue)"),
    "report": ("ledger", "authorizations issued/denied per month"),
    "replay-decision": ("ledger", "re-run a recorded decision"),
    "projections": ("ledger", "catch up or rebuild the read models"),
    "digest": ("audit", "a digest of every aggregate's head, to sign and publish"),
    "verify": ("audit", "re-read the whole store; exit 1 if anything was altered"),
    "export": ("export", "write a self-contained inspection record of one patient"),
    "verify-export": ("export", "check a JSON export offline against the program's public key"),
    "keys": ("tree_heads", "the tree-head signing key"),
    "sth": ("tree_heads", "a signed tree head over the whole log now"),
    "prove": ("tree_heads", "an RFC 9162 inclusion proof of one event"),
    "consistency": ("tree_heads", "an RFC 9162 consistency proof"),
    "relay": ("kafka", "publish the ledger's events to Kafka"),
    "schemas": ("kafka", "write the topics' JSON Schemas to OUT_DIR"),
    "kafka": ("kafka", "start or stop a local single-node broker"),
    "serve": ("api", "run the HTTP API and web pages on 127.0.0.1"),
    "tokens": ("api", "create, revoke or list API tokens"),
    "consume": ("consumers", "run a downstream consumer of the topics"),
    "demo": ("ledger", "simulate a realistic program and summarise it"),
}
"""Every sub-command: its group and its one-line help."""
RECORDING_ACTIONS = frozenset({"apply", "serve", "demo", "relay", "projections", "consume"})
"""The commands that store patient data (events, read models): each says at start when it is
stored unencrypted. Queries do not repeat it (their output is the answer alone)."""


PIPE_CLOSED = 128 + 13
"""Exit status when stdout's reader has gone (128 + SIGPIPE, as `cat` ends)."""


def _chosen(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: the chosen sub-command's group registered in full (every group
    when `argv` is None), the others by name and help only."""
    parser = argparse.ArgumentParser(prog="rems", description="Lenalidomide REMS ledger")
    sub = parser.add_subparsers(dest="action", required=True)
    if argv is None:
        loaded = set(GROUPS)
    else:
        chosen = COMMANDS.get(_chosen(argv) or "")
        loaded = {chosen[0]} if chosen else set()
    for group in GROUPS:
        if group in loaded:
            module, adder = GROUPS[group]
            getattr(importlib.import_module(module), adder)(sub)
        else:
            for name, (owner, text) in COMMANDS.items():
                if owner == group:
                    sub.add_parser(name, help=text, add_help=False)
    _order_like_the_table(sub)
    return parser


def _order_like_the_table(sub: Any) -> None:
    """List the sub-commands in `COMMANDS` order in `--help`, whichever were loaded."""
    rank = {name: i for i, name in enumerate(COMMANDS)}
    sub._choices_actions.sort(key=lambda action: rank.get(action.dest, len(rank)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run a `rems` sub-command; exit 0 on success, 1 on a query error, 2 on bad input or
    settings, 3 when the event store fails."""
    # The ledger uses no pydantic plugin; looking for one reads every installed package's
    # metadata on the first model built, a third of a query's start-up.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # A process started as `rems` (not a caller's `main([...])`): no cyclic GC while the
    # modules load and the ledger opens, since what they make lives as long as the process and
    # the collector walked it again and again (issue 9: start-up). It runs again, without those
    # objects, once the command starts (`_command_starts`).
    paused = argv is None and gc.isenabled()
    if paused:
        gc.disable()
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(words).parse_args(words)
        args.gc_paused = paused
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`rems history X | head -1`): stop quietly with the shell's
        # SIGPIPE status, and keep the interpreter's final flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    finally:
        if paused:
            gc.enable()
    return code


def _command_starts(args: argparse.Namespace) -> None:
    """The command's modules are loaded: freeze them out of the collector and let it run."""
    if getattr(args, "gc_paused", False):
        args.gc_paused = False
        gc.freeze()
        gc.enable()


def _run(args: argparse.Namespace) -> int:
    from eventsourcing.persistence import PersistenceError

    from application.errors import RemsError
    from infra.settings import UNENCRYPTED_WARNING, Settings, SettingsError, redacted_url

    try:
        settings = Settings.from_env()
        if getattr(args, "offline", None) is not None:
            _command_starts(args)
            offline: int = args.offline(args, settings)
            return offline
        if getattr(args, "fast", None) is not None:
            # A query the read model can answer as it stands, before the ledger (and the
            # models it loads) opens: None means it cannot, and the full path runs.
            answered: int | None = args.fast(args, settings)
            if answered is not None:
                return answered
        from application.ledger import Ledger

        if getattr(args, "demo", False):
            from simulation.demo import demo_settings

            settings = demo_settings(settings)
            print(f"rems demo: writing to {redacted_url(settings.database_url)}", file=sys.stderr)
        if settings.encryption_key_file is None and args.action in RECORDING_ACTIONS:
            print(UNENCRYPTED_WARNING, file=sys.stderr)
        ledger = Ledger(settings)
    except SettingsError as error:
        print(f"rems: {error}", file=sys.stderr)
        return 2
    except PersistenceError as error:
        print(f"rems: cannot open the event store ({error})", file=sys.stderr)
        return 3
    except RemsError as error:
        return _failed(args, error)
    try:
        _command_starts(args)
        code: int = args.run(args, ledger)
    except RemsError as error:
        return _failed(args, error)
    except PersistenceError as error:
        print(f"rems: the event store failed ({type(error).__name__}: {error})", file=sys.stderr)
        return 3
    finally:
        ledger.close()
    return code


def _failed(args: argparse.Namespace, error: RemsError) -> int:
    """Print a query's or command's error (its result with `--json`); exit 2 when invalid."""
    from entrypoints.cli.printing import print_json

    if getattr(args, "json", False):
        print_json(error.to_result())
    print(f"rems: {error.message}", file=sys.stderr)
    return 2 if error.code == "invalid" else 1


if __name__ == "__main__":
    raise SystemExit(main())
