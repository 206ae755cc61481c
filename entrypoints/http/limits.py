"""Request-body limits enforced while the body arrives.

`BodyLimit` is an ASGI middleware: a declared `Content-Length` above the path's limit is
answered 413 before a byte of the body is read; a body without one (chunked) is counted as its
`http.request` messages arrive, and reading stops at the first byte over the limit:
`BodyTooLarge` is raised into the reading route, and whatever the route then answers (unless
it answers 413 itself, as the sign-in page does) is replaced by the path's 413. Every answer
sent before its request's body was read to the end (a 413, or a 401 to a large upload) carries
`Connection: close`, so the server drops the connection instead of reading, and discarding,
the rest of a body nobody will use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import Response

from entrypoints.http.dependencies import MAX_BODY_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

API_BODY_LIMIT = MAX_BODY_BYTES
LOGIN_FORM_LIMIT = 4 * 1024
LIMIT_BY_PATH = {"/ui/login": LOGIN_FORM_LIMIT, "/ui/logout": LOGIN_FORM_LIMIT}
"""Paths with a smaller limit than the API's (the sign-in and out forms hold a token or two)."""
CLOSE = (b"connection", b"close")


def local_limit(path: str) -> int:
    """The API's own limit for `path` (the interop prefixes set theirs on top)."""
    return LIMIT_BY_PATH.get(path, API_BODY_LIMIT)


class BodyTooLarge(Exception):
    """The request body went over its path's limit; nothing more of it is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is limited to {limit} bytes.")
        self.limit = limit


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


class BodyLimit:
    """Answer 413 as soon as a request body is known to be over its path's limit."""

    def __init__(
        self,
        app: Asgi,
        limit_of: Callable[[str], int],
        too_large: Callable[[str, int], Response],
    ) -> None:
        self.app = app
        self.limit_of = limit_of
        self.too_large = too_large

    async def _answer_413(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = self.too_large(scope["path"], limit)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._answer_413(scope, receive, send, limit)
            return
        unread = declared not in (None, "0") or _header(scope, b"transfer-encoding") is not None
        received = 0
        over = False
        answered = False  # the route's own answer is being passed on
        replaced = False  # ... or it was replaced by the 413

        async def counted_receive() -> Message:
            nonlocal received, over, unread
            if over:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(limit)
                unread = bool(message.get("more_body", False))
            return message

        async def closing_send(message: Message) -> None:
            nonlocal answered, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if over and message["status"] != 413:
                    replaced = True
                    await self._answer_413(scope, receive, send, limit)
                    return
                answered = True
                if unread:  # the rest of the body will not be read: drop the connection
                    message["headers"] = [*message.get("headers", ()), CLOSE]
            await send(message)

        try:
            await self.app(scope, counted_receive, closing_send)
        except BodyTooLarge:
            if answered or replaced:
                raise
            await self._answer_413(scope, receive, send, limit)
