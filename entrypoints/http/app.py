"""The HTTP API: every `rems apply` command as a POST, every query as a GET, same results.

Status codes: `invalid` 422, `not_found` 404, `denied` 409 (every unmet rule in the body),
`conflict` 409 (retryable, with Retry-After), `duplicate` 200 with the first result,
unauthenticated 401, forbidden 403, body too large 413, not JSON 415.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from application.errors import InvalidCommand, RemsError
from application.ledger import Ledger
from application.parsing import strict_json
from application.views import Views
from entrypoints.http.policy import Forbidden
from entrypoints.http.tokens import Principal, TokenStore
from infra.settings import Settings
from infra.views import ViewDatabase

log = logging.getLogger("rems.api")

MAX_BODY_BYTES = 64 * 1024
STATUS_BY_CODE = {
    "invalid": 422,
    "not_found": 404,
    "denied": 409,
    "conflict": 409,
    "duplicate": 200,
}


def error_body(code: str, message: str) -> dict[str, Any]:
    """An error result in the contract's shape."""
    return {"ok": False, "error": {"code": code, "message": message, "reasons": []}}


def result_response(result: dict[str, Any]) -> JSONResponse:
    """The HTTP response of a ledger result."""
    if result.get("ok"):
        return JSONResponse(result, status_code=200)
    code = result["error"]["code"]
    headers = {}
    if code == "conflict":
        result["error"]["retryable"] = True
        headers["Retry-After"] = "1"
    return JSONResponse(result, status_code=STATUS_BY_CODE.get(code, 500), headers=headers)


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

    def close(self) -> None:
        """Release the ledger and the database connections."""
        self.views.close()
        self.database.close()
        self.ledger.close()


def principal_of(request: Request) -> Principal | None:
    """The caller, from `Authorization: Bearer TOKEN` or the web page's cookie."""
    state: ApiState = request.app.state.api
    header = request.headers.get("authorization", "")
    token = header[len("bearer ") :].strip() if header.lower().startswith("bearer ") else ""
    token = token or request.cookies.get("rems_token", "")
    return state.tokens.authenticate(token) if token else None


class Unauthenticated(Exception):
    """No valid token (answered 401 with `WWW-Authenticate: Bearer`)."""


def caller(request: Request) -> Principal:
    """The authenticated principal; raises Unauthenticated otherwise."""
    principal = principal_of(request)
    if principal is None:
        raise Unauthenticated
    return principal


def create_app(settings: Settings | None = None, ledger: Ledger | None = None) -> FastAPI:
    """The API application over a ledger (built from settings when not given)."""
    from entrypoints.http.command_routes import add_command_routes
    from entrypoints.http.openapi import install_openapi
    from entrypoints.http.query_routes import add_query_routes
    from entrypoints.web.routes import add_web_routes

    app = FastAPI(
        title="Lenalidomide REMS ledger",
        version="1.0",
        description="Commands and queries of the REMS compliance ledger. Authenticate with "
        "`Authorization: Bearer <token>` (`rems tokens create --role R --subject ID`).",
    )
    app.state.api = ApiState(ledger or Ledger(settings or Settings.from_env()))

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, error: Unauthenticated) -> JSONResponse:
        return JSONResponse(
            error_body("unauthenticated", "Send Authorization: Bearer <token>."),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> JSONResponse:
        return JSONResponse(error_body("forbidden", error.message), status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path'))}: {e['msg']}"
            for e in error.errors()
        )
        return JSONResponse(error_body("invalid", problems + "."), status_code=422)

    @app.exception_handler(RemsError)
    async def rems_error(request: Request, error: RemsError) -> JSONResponse:
        return result_response(error.to_result())

    @app.middleware("http")
    async def guard_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        began = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            response: Response = JSONResponse(
                error_body("too_large", f"The body is limited to {MAX_BODY_BYTES} bytes."),
                status_code=413,
            )
        else:
            response = await call_next(request)
        # Access log without PHI: method, path (program IDs only), status, time. No query
        # string, no body, no headers.
        log.info(
            "%s %s %d %.1fms",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - began) * 1000,
        )
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    add_command_routes(app)
    add_query_routes(app)
    add_web_routes(app)
    install_openapi(app)
    return app


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
