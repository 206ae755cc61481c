"""POST /v1/commands/{name}: each command of the `rems apply` contract, same fields and results."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from application.commands import COMMANDS
from entrypoints.http.app import (
    ApiState,
    caller,
    error_body,
    json_object,
    result_response,
)
from entrypoints.http.policy import check_command, check_duplicate


def _invalid(message: str, field: str) -> JSONResponse:
    body = error_body("invalid", message)
    body["error"]["field"] = field
    return JSONResponse(body, status_code=422)


async def _run_command(request: Request, name: str) -> JSONResponse:
    state: ApiState = request.app.state.api
    principal = await run_in_threadpool(caller, request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return JSONResponse(
            error_body("unsupported_media_type", "Send the command as application/json."),
            status_code=415,
        )
    raw = await request.body()  # at most API_BODY_LIMIT bytes (BodyLimit answers 413 beyond)
    body = json_object(raw)
    if body is None:
        return _invalid("The body must be a JSON object with the command's fields.", "body")
    if body.setdefault("command", name) != name:
        return _invalid(f"command: this endpoint applies {name}.", "command")
    key = request.headers.get("idempotency-key")
    if key is not None:
        if body.get("command_id") not in (None, key):
            return _invalid("command_id: differs from the Idempotency-Key header.", "command_id")
        body["command_id"] = key
    await run_in_threadpool(check_command, state.ledger, principal, name, body)
    result: dict[str, Any] = await run_in_threadpool(state.execute, body, principal)
    await run_in_threadpool(check_duplicate, state.ledger, principal, name, result)
    return result_response(result)


def add_command_routes(app: FastAPI) -> None:
    """One POST route per command."""
    for name in COMMANDS:
        app.add_api_route(
            f"/v1/commands/{name}",
            _endpoint_for(name),
            methods=["POST"],
            name=name,
            summary=name.replace("_", " ").capitalize(),
            tags=["commands"],
            response_model=None,
        )


def _endpoint_for(name: str) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        return await _run_command(request, name)

    endpoint.__name__ = name
    return endpoint
