"""The HTTP API: every `rems apply` command as a POST, every query as a GET, same results.

Status codes (one table: `entrypoints.http.responses.STATUS_BY_CODE`): `invalid` 422,
`not_found` 404, `denied` 409 (every unmet rule in the body), `conflict` 409 (retryable, with
Retry-After), `duplicate` 200 with the first result, unauthenticated 401, forbidden 403, body
too large 413, not JSON 415.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from application.errors import RemsError
from application.ledger import Ledger
from entrypoints.http import command_routes, query_routes, tree_head_routes
from entrypoints.http.dependencies import (
    MAX_BODY_BYTES,
    ApiState,
    Unauthenticated,
)
from entrypoints.http.guard import GuardAndLog
from entrypoints.http.limits import BodyLimit, local_limit
from entrypoints.http.openapi import install_openapi
from entrypoints.http.policy import Forbidden
from entrypoints.http.responses import error_body, error_response, result_response, status_of
from entrypoints.interop import routes as interop_routes
from entrypoints.interop.limits import body_limit, too_large_response
from entrypoints.web import routes as web_routes
from entrypoints.web.layout import message_page
from entrypoints.web.signin import WebState
from infra.schema_lock import making_schema
from infra.settings import Settings

__all__ = ["MAX_BODY_BYTES", "ApiState", "create_app"]

JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""Sent with every response but the interactive docs: answers carry PHI, so nothing is cached,
sniffed, framed or referred. A page sets its own Content-Security-Policy; others get JSON_CSP."""
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
"""FastAPI's documentation pages load their scripts from a CDN and carry no patient data."""


def limit_of(path: str) -> int:
    """The largest body accepted on a path: the interop prefixes' own, else the API's."""
    return body_limit(path, local_limit(path))


def too_large(path: str, limit: int) -> Response:
    """The 413 in the path's own shape: a page under /ui, else the interop's or the API's."""
    if path == "/ui" or path.startswith("/ui/"):
        return message_page(413, "Too large", f"The form is limited to {limit} bytes.", None)
    return too_large_response(path, limit)


def create_app(settings: Settings | None = None, ledger: Ledger | None = None) -> FastAPI:
    """The API application over a ledger (built from settings when not given)."""
    app = FastAPI(
        title="Lenalidomide REMS ledger",
        version="1.0",
        description="Commands and queries of the REMS compliance ledger. Authenticate with "
        "`Authorization: Bearer <token>` (`rems tokens create --role R --subject ID`).",
    )
    settings = ledger.settings if ledger else settings or Settings.from_env()
    # The read models', tokens' and sessions' tables are made on a first start: one process at
    # a time (`infra/schema_lock.py`).
    with making_schema(settings.database_url):
        app.state.api = ApiState(ledger or Ledger(settings))
        app.state.web = WebState(app.state.api)
        interop_routes.interop_state(app)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, error: Unauthenticated) -> JSONResponse:
        return error_response(
            "unauthenticated",
            "Send Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> JSONResponse:
        body = error_body("forbidden", error.message)
        body["error"]["reasons"] = list(error.reasons)
        return JSONResponse(body, status_code=status_of("forbidden"))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path'))}: {e['msg']}"
            for e in error.errors()
        )
        return error_response("invalid", problems + ".")

    @app.exception_handler(RemsError)
    async def rems_error(request: Request, error: RemsError) -> JSONResponse:
        return result_response(error.to_result())

    # Added before the logging middleware, so it runs inside it: a 413 is logged and carries
    # the security headers like any other answer.
    app.add_middleware(BodyLimit, limit_of=limit_of, too_large=too_large)
    app.add_middleware(GuardAndLog, headers=SECURITY_HEADERS, csp=JSON_CSP, exempt=DOCS_PATHS)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(command_routes.router)
    app.include_router(query_routes.router)
    app.include_router(tree_head_routes.router)
    app.include_router(web_routes.router)
    app.include_router(interop_routes.router)
    install_openapi(app)
    return app
