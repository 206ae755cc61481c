"""Turning pydantic validation errors into `invalid` errors that name the field."""

from __future__ import annotations

from pydantic import ValidationError

from application.errors import InvalidCommand


def invalid_from_validation(error: ValidationError) -> InvalidCommand:
    """One `invalid` error naming every offending field, the first as `field`."""
    problems = []
    fields = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"] if not isinstance(p, int)) or "command"
        if item["type"] == "extra_forbidden":
            problems.append(f"{path}: unknown field (check its spelling)")
        elif item["type"] == "missing":
            problems.append(f"{path}: required field missing")
        else:
            problems.append(f"{path}: {item['msg']}")
        fields.append(path)
    return InvalidCommand("; ".join(problems) + ".", field=fields[0] if fields else None)
