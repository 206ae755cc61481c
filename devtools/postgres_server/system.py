"""How server commands meet the operating system.

PostgreSQL refuses to run as root, so when this process is root every server command runs as
the ``postgres`` system user; commands get an environment free of libpq/server variables, and
their failures are reported with the tail of their output.
"""

from __future__ import annotations

import os

__all__ = ["SYSTEM_USER", "clean_env", "is_root", "tail"]

SYSTEM_USER = "postgres"
"""OS account server processes run as when this process is root."""

_LOG_TAIL_LINES = 40


def is_root() -> bool:
    """Whether this process runs as root."""
    return os.geteuid() == 0


def tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``, stripped."""
    return "\n".join(text.strip().splitlines()[-lines:])


def clean_env() -> dict[str, str]:
    """The current environment minus libpq/server variables that could redirect commands."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
