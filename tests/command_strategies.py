"""Hypothesis strategies for command JSON, drawn from the commands' own JSON Schemas (pydantic's
`model_json_schema()`): a mostly well-formed command, then one mutation at any depth — a wrong
type, a huge or tiny number, odd Unicode, deep nesting, an unknown field, a missing one — and,
on the raw text, a repeated key."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from application.commands import COMMANDS

KNOWN_IDS = ("PAT1", "PAT2", "KID1", "DR1", "PH1", "pat1", "\uff30\uff21\uff34\uff11")
ODD_TEXT = st.sampled_from(
    [
        "",
        "   ",
        "P1\u200b",
        "P1\u0000",
        "../../etc/passwd",
        "\u202eevil",
        "\U0001f600",
        "e\u0301",
        "\ufeff",
        "yes",
        "true",
        "1",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31",
        "9999-12-31T23:59:59-12:00",
        "1850-01-01",
        "2026-02-30",
        "x" * 5000,
    ]
)
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 10**18, 1e-300, 1e300, -1e300, 5e-324, 0.5, 2.5]),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD_TEXT,
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.integers(min_value=9, max_value=400).map(lambda n: _nested(n)),
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        resolved: dict[str, Any] = defs[node["$ref"].rsplit("/", 1)[-1]]
        return resolved
    return node


def valid_value(node: dict[str, Any], defs: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """A value of the schema node, as a well-behaved client would send it."""
    node = _resolve(node, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        return valid_value(options[0], defs, name) if options else st.none()
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object":
        return _object(node, defs)
    if kind == "array":
        return st.lists(valid_value(node["items"], defs, name), min_size=1, max_size=3)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(node.get("minimum", 0), node.get("maximum", 100))
    if kind == "number":
        low = node.get("minimum", node.get("exclusiveMinimum", 0.5))
        return st.floats(min_value=max(low, 0.5), max_value=node.get("maximum", 100))
    if node.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat()).filter(lambda s: "2020" <= s <= "2026")
    if node.get("format") == "date-time":
        return st.just("2026-02-20T09:00:00-05:00")
    if name.endswith("_id"):
        return st.sampled_from(KNOWN_IDS)
    if name.endswith("_number"):
        return st.sampled_from(["RA-0000-0000-0000", "rc-oooo-llll-0000", "RA-NOPE"])
    return st.text(min_size=1, max_size=20)


def _object(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    required = set(node.get("required", []))
    fields = {
        name: valid_value(sub, defs, name)
        for name, sub in node.get("properties", {}).items()
        if name in required
    }
    optional = {
        name: valid_value(sub, defs, name)
        for name, sub in node.get("properties", {}).items()
        if name not in required and name not in ("at", "command_id")
    }
    return st.fixed_dictionaries(fields, optional=optional)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(value, dict):
        return [prefix]
    found = [prefix] if prefix else []
    for key, item in value.items():
        found += _paths(item, (*prefix, key))
    return found


class Line:
    """A generated command: its name, its fields, and maybe a key to repeat on the raw text."""

    def __init__(self, name: str, body: dict[str, Any], repeat: tuple[str, Any] | None) -> None:
        self.name = name
        self.body = body
        self.repeat = repeat

    def raw(self, at: str | None, with_command: bool = True) -> bytes:
        """The JSON text (the standard encoder: it writes any depth and any integer)."""
        fields = {**({"command": self.name} if with_command else {}), **self.body}
        if at is not None and "at" not in fields:
            fields["at"] = at
        text = json.dumps(fields, ensure_ascii=False)
        if self.repeat is not None:
            key, value = self.repeat
            text = text[:-1] + ", " + json.dumps(key) + ": " + json.dumps(value) + "}"
        return text.encode()

    def __repr__(self) -> str:
        return f"Line({self.raw(None)[:300]!r})"


@st.composite
def command_lines(draw: st.DrawFn) -> Line:
    """A command of the contract drawn from its schema, with at most one mutation."""
    name = draw(st.sampled_from(sorted(COMMANDS)))
    schema = COMMANDS[name].model_json_schema()
    body: dict[str, Any] = draw(_object(schema, schema.get("$defs", {})))
    body.pop("command", None)
    mutation = draw(st.sampled_from(["none", "junk", "junk", "unknown", "missing", "duplicate"]))
    paths = [p for p in _paths(body) if p]
    repeat = None
    if mutation == "junk" and paths:
        path = draw(st.sampled_from(paths))
        holder = body
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = draw(JUNK)
    elif mutation == "unknown":
        body[draw(st.sampled_from(["bogus", "Patient_ID", "patientid"]))] = draw(JUNK)
    elif mutation == "missing" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif mutation == "duplicate" and body:
        repeat = (draw(st.sampled_from(sorted(body))), draw(JUNK))
    return Line(name, body, repeat)
