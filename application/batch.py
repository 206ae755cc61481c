"""`rems apply`: JSON Lines in, one JSON result per line out (DESIGN.md, the stable contract)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from application.ledger import Ledger


def apply_lines(ledger: Ledger, lines: Iterable[bytes | str]) -> Iterator[dict[str, Any]]:
    """Apply each non-blank line in order; yield its result with `line` (1-based)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result = ledger.execute(line)
        yield {"line": number, **result}
