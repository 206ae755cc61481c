"""Every HTTP status the API answers with, in one table, and the error bodies that carry them.

The contract's codes (`application.errors`) and the edge's own (401, 403, 413, 415) map here
and nowhere else.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from application.errors import Conflict, Denied, Duplicate, InvalidCommand, NotFound

STATUS_BY_CODE = {
    InvalidCommand.code: 422,
    NotFound.code: 404,
    Denied.code: 409,
    Conflict.code: 409,
    Duplicate.code: 200,
    "unauthenticated": 401,
    "forbidden": 403,
    "too_large": 413,
    "unsupported_media_type": 415,
}
"""The status of each error code; any other code is a server error (500)."""


def status_of(code: str) -> int:
    """The HTTP status of an error code."""
    return STATUS_BY_CODE.get(code, 500)


def error_body(code: str, message: str) -> dict[str, Any]:
    """An error result in the contract's shape."""
    return {"ok": False, "error": {"code": code, "message": message, "reasons": []}}


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error result as a response with the code's status."""
    return JSONResponse(error_body(code, message), status_code=status_of(code), headers=headers)


def result_response(result: dict[str, Any]) -> JSONResponse:
    """The HTTP response of a ledger result."""
    if result.get("ok"):
        return JSONResponse(result, status_code=200)
    code = result["error"]["code"]
    headers = {}
    if code == Conflict.code:
        result["error"]["retryable"] = True
        headers["Retry-After"] = "1"
    return JSONResponse(result, status_code=status_of(code), headers=headers)
