"""`rems serve` and `rems tokens create|revoke|list`."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import Any

from application.ledger import Ledger
from entrypoints.cli.printing import print_json
from entrypoints.http.tokens import Role, TokenStore
from infra.settings import ClockMode

EVENT_CLOCK_REFUSED = (
    "rems serve: refusing to start under REMS_CLOCK=event. With the event clock each command's "
    "`at` is the ledger's time, so one request dated 9999-12-31 would make every later command "
    "'earlier than the last recorded time' and be refused for good. Serve with the system "
    "clock (unset REMS_CLOCK), or pass --allow-event-clock for a simulation."
)


def _cmd_serve(args: argparse.Namespace, ledger: Ledger) -> int:
    import uvicorn

    from entrypoints.http.app import create_app

    if ledger.settings.clock is ClockMode.EVENT and not args.allow_event_clock:
        print(EVENT_CLOCK_REFUSED, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(ledger=ledger)
    # What start-up built (modules, models, the rule set: most of the heap) is never garbage;
    # frozen, a full collection does not walk it, which took ~0.1-0.3 s mid-request.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")
    return 0


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
