"""What every `rems apply` command carries (DESIGN.md, "Commands and their fields").

Parsing is strict at every depth: unknown fields, wrong types and unknown commands are
`invalid`, naming the field; numbers and booleans must be JSON numbers and booleans.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from application.bounds import Instant


class Command(BaseModel):
    """Fields every command may carry."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    command: str
    at: Instant | None = None
    """When the command happens (required under the event clock)."""
    command_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    """The client's idempotency key: a repeat returns the first result."""

    def subject(self) -> str:
        """The program ID the command is about (for messages; never PHI)."""
        for name in ("patient_id", "prescriber_id", "pharmacy_id", "confirmation_number"):
            value = getattr(self, name, None)
            if isinstance(value, str):
                return value
        return "-"
