"""`rems serve` and `rems tokens create|revoke|list`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from application.ledger import Ledger
from entrypoints.cli.printing import print_json
from entrypoints.http.tokens import Role, TokenStore
from infra.settings import ClockMode, SqliteUrl, parse_database_url

EVENT_CLOCK_REFUSED = (
    "rems serve: refusing to start under REMS_CLOCK=event. With the event clock each command's "
    "`at` is the ledger's time, so one request dated 9999-12-31 would make every later command "
    "'earlier than the last recorded time' and be refused for good. Serve with the system "
    "clock (unset REMS_CLOCK), or pass --allow-event-clock for a simulation."
)


MOST_WORKERS = 64

WORKERS_IN_MEMORY_REFUSED = (
    "rems serve: --workers needs a store every worker opens: an in-memory SQLite store "
    "(sqlite:///:memory:) would be a different, empty ledger in each. Use a file or PostgreSQL."
)


def _cmd_serve(args: argparse.Namespace, ledger: Ledger) -> int:
    import uvicorn

    from entrypoints.http.app import create_app
    from entrypoints.http.worker import LOG_FORMAT, started

    if ledger.settings.clock is ClockMode.EVENT and not args.allow_event_clock:
        print(EVENT_CLOCK_REFUSED, file=sys.stderr)
        return 2
    url = parse_database_url(ledger.settings.database_url)
    if args.workers > 1 and isinstance(url, SqliteUrl) and url.path == ":memory:":
        print(WORKERS_IN_MEMORY_REFUSED, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # Built here in every case: the store's tables and functions and the read models' tables
    # exist before any worker starts. On PostgreSQL two sessions running `CREATE ... IF NOT
    # EXISTS` or `CREATE OR REPLACE FUNCTION` at once can fail on its catalogs.
    app = create_app(ledger=ledger)
    served = {"host": args.host, "port": args.port, "access_log": False, "log_level": "info"}
    if args.workers == 1:
        uvicorn.run(started(app), **served)
        return 0
    app.state.api.close()
    # The workers are spawned with this environment: they find the tables made above.
    os.environ["CREATE_TABLE"] = "no"
    uvicorn.run(
        "entrypoints.http.worker:app_from_environment",
        factory=True,
        workers=args.workers,
        **served,
    )
    return 0


def _workers(text: str) -> int:
    """`--workers`: a whole number from 1 to MOST_WORKERS."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MOST_WORKERS:
        msg = f"--workers: {text!r} is not a whole number from 1 to {MOST_WORKERS}"
        raise argparse.ArgumentTypeError(msg)
    return count


def _cmd_tokens(args: argparse.Namespace, ledger: Ledger) -> int:
    from infra.views import ViewDatabase

    database = ViewDatabase(ledger.settings.database_url)
    try:
        store = TokenStore(database)
        if args.what == "create":
            if not args.role or not args.subject:
                print("rems tokens create: --role and --subject are required")
                return 2
            token_id, token = store.create(Role(args.role), args.subject)
            print_json(
                {"token_id": token_id, "role": args.role, "subject": args.subject, "token": token}
            )
        elif args.what == "revoke":
            if not store.revoke(args.token_id or ""):
                print(f"rems tokens revoke: no active token {args.token_id}")
                return 1
            print_json({"revoked": args.token_id})
        else:
            print_json(store.list())
    finally:
        database.close()
    return 0


def add_api_commands(sub: Any) -> None:
    """Register `serve` and `tokens`."""
    serve = sub.add_parser("serve", help="run the HTTP API and web pages on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes sharing the port, each with its own connections to the store "
        "(default 1)",
    )
    serve.add_argument(
        "--allow-event-clock",
        action="store_true",
        help="serve under REMS_CLOCK=event (simulations only: clients then set the time)",
    )
    serve.set_defaults(run=_cmd_serve)
    tokens = sub.add_parser("tokens", help="create, revoke or list API tokens")
    tokens.add_argument("what", choices=["create", "revoke", "list"])
    tokens.add_argument("--role", choices=[r.value for r in Role])
    tokens.add_argument("--subject", help="prescriber or pharmacy ID, or a staff member's ID")
    tokens.add_argument("--token-id", help="for revoke")
    tokens.set_defaults(run=_cmd_tokens)
