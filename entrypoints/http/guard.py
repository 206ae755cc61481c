"""Every answer's security headers and its access-log line, as a plain ASGI middleware (not
Starlette's `BaseHTTPMiddleware`, whose task and stream per request cost more than the rest of
the HTTP layer on a decision).

The log line has no PHI: method, path (program IDs only), status, time. No query string, no
body, no headers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from entrypoints.http.limits import Asgi, Message, Receive, Scope, Send

log = logging.getLogger("rems.api")


class GuardAndLog:
    """Adds each header of `headers` an answer does not set itself (none on `exempt` paths,
    `csp` as the Content-Security-Policy when it has none), and logs the answer."""

    def __init__(
        self, app: Asgi, headers: Mapping[str, str], csp: str, exempt: frozenset[str]
    ) -> None:
        self.app = app
        self.exempt = exempt
        self.headers = [
            (name.lower().encode(), value.encode())
            for name, value in {**headers, "Content-Security-Policy": csp}.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        path: str = scope["path"]
        guarded = path not in self.exempt
        status = 0

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if guarded:
                    headers = list(message.get("headers", ()))
                    present = {name.lower() for name, _ in headers}
                    headers.extend(h for h in self.headers if h[0] not in present)
                    message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    path,
                    status,
                    (time.perf_counter() - began) * 1000,
                )
            await send(message)

        await self.app(scope, receive, answer)
