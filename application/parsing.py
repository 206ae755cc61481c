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
    # orjson keeps the last of repeated keys; the standard parser reports every pair. The value
    # is already known to be valid and shallow, so this second reading cannot fail otherwise.
    json.loads(raw, object_pairs_hook=_unique_keys)
    return value


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
    stack: list[tuple[Any, int, str]] = [(value, 1, "command")]
    while stack:
        item, depth, field = stack.pop()
        children: list[tuple[str, Any]]
        if isinstance(item, dict):
            children = [(str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(field, v) for v in item]
        else:
            continue
        if depth > MAX_DEPTH:
            msg = f"{field}: nested more than {MAX_DEPTH} levels deep; no command field is."
            raise InvalidCommand(msg, field=field)
        for key, child in children:
            stack.append((child, depth + 1, key if depth == 1 else field))


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
