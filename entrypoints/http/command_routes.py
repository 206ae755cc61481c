"""POST /v1/commands/{name}: each command of the `rems apply` contract, same fields and results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from application.commands import COMMANDS
from entrypoints.http.dependencies import api_state, caller, json_object
from entrypoints.http.responses import error_body, error_response, result_response, status_of


def _invalid(message: str, field: str) -> JSONResponse:
    body = error_body("invalid", message)
    body["error"]["field"] = field
    return JSONResponse(body, status_code=status_of("invalid"))


async def _run_command(request: Request, name: str) -> JSONResponse:
    state = api_state(request)
    principal = await run_in_threadpool(caller, request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return error_response("unsupported_media_type", "Send the command as application/json.")
    raw = await request.body()  # at most MAX_BODY_BYTES: BodyLimit answers 413 beyond
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
    result: dict[str, Any] = await run_in_threadpool(state.execute_allowed, name, body, principal)
    return result_response(result)


def _endpoint_for(name: str) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        return await _run_command(request, name)

    endpoint.__name__ = name
    return endpoint


router = APIRouter()
"""One POST route per command."""
for _name in COMMANDS:
    router.add_api_route(
        f"/v1/commands/{_name}",
        _endpoint_for(_name),
        methods=["POST"],
        name=_name,
        summary=_name.replace("_", " ").capitalize(),
        tags=["commands"],
        response_model=None,
    )
