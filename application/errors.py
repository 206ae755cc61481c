"""The ledger's errors: one tree, each class one code of the `rems apply` contract.

    RemsError                      any failure a client sees
    ├── InvalidCommand   invalid    malformed line, unknown command or field, wrong type,
    │                               future date (HTTP 422); names the field
    ├── NotFound         not_found  unknown patient, authorization or confirmation (404)
    ├── Denied           denied     a rule is unmet; lists every unmet rule (409)
    ├── Conflict         conflict   a concurrent change to the same aggregate; retry (409)
    └── Duplicate        duplicate  already applied; carries the first result (200)

Every error carries `reasons` (maybe empty): one entry per unmet rule ID. The HTTP statuses
are the API's to choose, in one table (`entrypoints.http.responses.STATUS_BY_CODE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only a type here: raising an error (a query's `not_found`) loads no pydantic model.
    from domain.reasons import Reason


class RemsError(Exception):
    """Base of every error a command can end in."""

    code = "error"

    def __init__(self, message: str, reasons: list[Reason] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = list(reasons or [])

    def to_result(self) -> dict[str, Any]:
        """The `{"ok": false, "error": {...}}` result of the contract."""
        return {
            "ok": False,
            "error": {
                "code": self.code,
                "message": self.message,
                "reasons": [r.model_dump() for r in self.reasons],
            },
        }


class InvalidCommand(RemsError):
    """The command cannot be understood as written; nothing was recorded."""

    code = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def to_result(self) -> dict[str, Any]:
        result = super().to_result()
        if self.field is not None:
            result["error"]["field"] = self.field
        return result


class NotFound(RemsError):
    """The patient, authorization or confirmation number does not exist."""

    code = "not_found"


class Denied(RemsError):
    """A rule is unmet; the decision was recorded with every unmet rule."""

    code = "denied"


class Conflict(RemsError):
    """Another command changed the same aggregate first; nothing was recorded, retry."""

    code = "conflict"


class Duplicate(RemsError):
    """Already applied; `original` is the first result."""

    code = "duplicate"

    def __init__(self, message: str, original: dict[str, Any]) -> None:
        super().__init__(message)
        self.original = original

    def to_result(self) -> dict[str, Any]:
        result = super().to_result()
        result["original"] = self.original
        return result
