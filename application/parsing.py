"""Reading a command's JSON strictly, and turning validation errors into `invalid` errors.

A line is JSON (orjson's reading: no NaN, no lone surrogates), an object, without a key repeated
in any object (the last would silently win), and nested at most `MAX_DEPTH` levels (a line nested
300 deep would otherwise break re-encoding or recursion further on). Each failure is `invalid`
naming the field, and the rest of a batch goes on.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from pydantic import ValidationError

from application.errors import InvalidCommand

MAX_DEPTH = 8
"""The deepest nesting a command needs is 3 (a form part's field); 8 leaves room."""


def strict_json(raw: bytes | str) -> Any:
    """The parsed JSON value; `invalid` when it is not JSON, repeats a key, or nests too deep."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        msg = f"The line is not valid JSON: {error}."
        raise InvalidCommand(msg) from None
    check_depth(value)
    if _may_repeat_a_key(raw):
        # orjson keeps the last of repeated keys; the standard parser reports every pair. The
        # value is already known to be valid and shallow, so this reading cannot fail otherwise.
        json.loads(raw, object_pairs_hook=_unique_keys)
    return value


def _may_repeat_a_key(raw: bytes | str) -> bool:
    """Whether some key text occurs twice anywhere in the line: only then can one object repeat
    a key, so the common line is checked at split speed. Without a backslash every quote
    delimits a string, so the pieces between quotes alternate outside/inside, and a string is a
    key when a colon follows it; a line with any escape takes the exact (slower) path."""
    data = raw.encode() if isinstance(raw, str) else raw
    if b"\\" in data:
        return True
    pieces = data.split(b'"')
    keys = [pieces[i] for i in range(1, len(pieces) - 1, 2) if pieces[i + 1].lstrip()[:1] == b":"]
    return len(set(keys)) != len(keys)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            msg = f"{key}: the field appears more than once in one object; give it once."
            raise InvalidCommand(msg, field=key)
        seen.add(key)
    return dict(pairs)


def check_depth(value: Any) -> None:
    """`invalid` naming the top-level field under which the value nests deeper than allowed."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and _deeper_than(item, MAX_DEPTH - 1):
                msg = f"{key}: nested more than {MAX_DEPTH} levels deep; no command field is."
                raise InvalidCommand(msg, field=str(key))
    elif isinstance(value, list) and _deeper_than(value, MAX_DEPTH):
        msg = f"command: nested more than {MAX_DEPTH} levels deep."
        raise InvalidCommand(msg, field="command")


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether the containers inside `value` (itself one level) go deeper than `levels`."""
    if levels <= 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(item, dict | list) and _deeper_than(item, levels - 1) for item in items)


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
