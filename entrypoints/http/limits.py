"""Request-body limits enforced while the body arrives, and the headers every response carries.

`BodyLimit` is an ASGI middleware: a declared `Content-Length` above the path's limit is
answered 413 before a byte of the body is read; a body without one (chunked) is counted as its
`http.request` messages arrive, and reading stops at the first byte over the limit
(`BodyTooLarge` is raised into the reading route, and answered 413 unless the route answers it
itself). The 413 carries `Connection: close`, and so does any answer sent before its request's
body was read to the end (a 401 or 403 to a large upload): the server then drops the
connection instead of reading, and discarding, the rest of a body nobody will use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

Scope = Mapping[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
Asgi = Callable[[Scope, Receive, Send], Any]

API_BODY_LIMIT = 64 * 1024
LOGIN_FORM_LIMIT = 4 * 1024
LIMIT_BY_PATH = {"/ui/login": LOGIN_FORM_LIMIT, "/ui/logout": LOGIN_FORM_LIMIT}
"""Paths with a smaller limit than the API's (the sign-in and out forms hold a token or two)."""


def body_limit(path: str) -> int:
    """The most bytes a request body to `path` may have."""
    return LIMIT_BY_PATH.get(path, API_BODY_LIMIT)


class BodyTooLarge(Exception):
    """The request body went over its path's limit; nothing more of it is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is limited to {limit} bytes.")
        self.limit = limit


def too_large_body(limit: int) -> bytes:
    """The 413 result, in the contract's error shape."""
    error = {"code": "too_large", "message": f"The body is limited to {limit} bytes."}
    return orjson.dumps({"ok": False, "error": error | {"reasons": []}})


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


class BodyLimit:
    """Answer 413 as soon as a request body is known to be over its path's limit."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_413(send, limit)
            return
        unread = declared not in (None, "0") or _header(scope, b"transfer-encoding") is not None
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over, unread
            if over:
                raise BodyTooLarge(limit)
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(limit)
                unread = bool(message.get("more_body", False))
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if unread:  # the rest of the body will not be read: drop the connection
                    message = {**message, "headers": [*message.get("headers", ()), CLOSE]}
            await send(message)

        try:
            await self.app(scope, counted_receive, closing_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_413(send, limit)


CLOSE = (b"connection", b"close")


async def _send_413(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                CLOSE,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
