"""Sign-in failures throttled per client address: after FAILURES wrong tokens within WINDOW
seconds, the form answers 429 (with Retry-After) without looking at the token, until the oldest
failure leaves the window.

Kept in the process's memory: a restart forgets it, and each `rems serve` process counts its
own. Behind a reverse proxy every client has the proxy's address, so the limit is then shared
by all (the safer side: it still bounds guessing).
"""

from __future__ import annotations

import math
import threading
from collections import deque

FAILURES = 5
WINDOW = 60.0
MAX_CLIENTS = 10_000
"""Addresses remembered at most; beyond it the quietest are forgotten first."""


class LoginThrottle:
    """Failure times per client address, within the last WINDOW seconds."""

    def __init__(self, failures: int = FAILURES, window: float = WINDOW) -> None:
        self.failures = failures
        self.window = window
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float) -> int | None:
        """Seconds until this client may try again, or None when it may try now."""
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.failures:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, client: str, now: float) -> None:
        """Count a failed sign-in."""
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._times) > MAX_CLIENTS:
                quietest = min(self._times, key=lambda c: self._times[c][-1])
                del self._times[quietest]

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._times.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
