"""Waiting for the broker's acknowledgements of what the relay sent, patiently but not forever."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("rems.relay")

ACK_TIMEOUT_S = 20.0
"""How long the relay waits for one batch before it drops its producer and sends again."""
ACK_PATIENCE_S = 3.0
"""How long the relay waits for acknowledgements before saying in its log that it is waiting."""


class RelayStopped(Exception):
    """`stop` was set while the relay waited for the broker; the batch is left unrecorded."""


def await_acknowledgements(
    futures: Sequence[Any], stop: threading.Event, after_position: int | None
) -> None:
    """Wait until every send's future is acknowledged (raise its error if the broker refused
    one), saying in the log when the broker is slow to answer (it may be away); give up after
    `ACK_TIMEOUT_S`, or with `RelayStopped` as soon as `stop` is set."""
    deadline = time.monotonic() + ACK_TIMEOUT_S
    for index, future in enumerate(futures):
        while True:
            patience = min(ACK_PATIENCE_S, deadline - time.monotonic())
            try:
                future.get(timeout=max(patience, 0.0))
                break
            except Exception as error:
                if future.is_done:  # the broker refused it: not a wait
                    raise
                if stop.is_set():
                    raise RelayStopped from error
                if time.monotonic() >= deadline:
                    raise
                log.warning(
                    "relay: %d messages after position %s not yet acknowledged (%s); "
                    "retrying until the broker answers",
                    len(futures) - index,
                    after_position,
                    type(error).__name__,
                )
