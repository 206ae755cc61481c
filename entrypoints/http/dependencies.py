"""What the API's routes depend on: the shared state, the caller, the body limit.

Routes take these through FastAPI's `Depends` (or read `request.app.state.api`); nothing here
imports a route module, so every router can be included at import time.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import Depends, Request

from application.errors import InvalidCommand
from application.ledger import Ledger
from application.parsing import strict_json
from application.views import Views
from entrypoints.http.policy import check_command, check_duplicate
from entrypoints.http.tokens import Principal, TokenStore
from infra.views import ViewDatabase

MAX_BODY_BYTES = 64 * 1024
"""The API's body limit (enforced as the body arrives by `limits.BodyLimit`)."""


class ApiState:
    """What every request shares: the ledger, the token store, and the write lock."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.database = ViewDatabase(ledger.settings.database_url)
        self.tokens = TokenStore(self.database)
        self.views = Views(ledger)
        """The read models, one connection shared by every request (transactions take turns)."""
        self.write_lock = threading.Lock()

    def execute(self, body: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """Apply a command as the principal (one at a time in this process: commands are
        short, and other processes are kept apart by optimistic concurrency)."""
        with self.write_lock:
            return self.ledger.execute(body, actor=principal.actor)

    def execute_allowed(
        self, name: str, body: dict[str, Any], principal: Principal
    ) -> dict[str, Any]:
        """`execute` if the principal may send this command (`policy.check_command`, raising
        Forbidden), and a `duplicate` only to the caller it belongs to (`check_duplicate`):
        the checks read the states the command reads, in the same scope (one follow of the
        log for all three)."""
        with self.write_lock, self.ledger.command_scope():
            check_command(self.ledger, principal, name, body)
            result = self.ledger.execute(body, actor=principal.actor)
            check_duplicate(self.ledger, principal, name, result)
            return result

    def close(self) -> None:
        """Release the ledger and the database connections."""
        self.views.close()
        self.database.close()
        self.ledger.close()


def api_state(request: Request) -> ApiState:
    """The state the application was created with."""
    state: ApiState = request.app.state.api
    return state


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer TOKEN` ("" without one)."""
    header = request.headers.get("authorization", "")
    return header[len("bearer ") :].strip() if header.lower().startswith("bearer ") else ""


def principal_of(request: Request) -> Principal | None:
    """The caller, from `Authorization: Bearer TOKEN` only: the API never reads a cookie, so a
    page elsewhere cannot make a signed-in browser send a command (no CSRF on the API)."""
    token = bearer_token(request)
    return api_state(request).tokens.authenticate(token) if token else None


class Unauthenticated(Exception):
    """No valid token (answered 401 with `WWW-Authenticate: Bearer`)."""


def caller(request: Request) -> Principal:
    """The authenticated principal; raises Unauthenticated otherwise."""
    principal = principal_of(request)
    if principal is None:
        raise Unauthenticated
    return principal


Caller = Annotated[Principal, Depends(caller)]
"""A route parameter: the authenticated caller."""
State = Annotated[ApiState, Depends(api_state)]
"""A route parameter: the shared state."""


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one; a repeated key or nesting too
    deep raises `invalid` naming the field (read as `rems apply` reads a line)."""
    try:
        obj = strict_json(raw)
    except InvalidCommand as error:
        if error.field is None:
            return None
        raise
    return obj if isinstance(obj, dict) else None
