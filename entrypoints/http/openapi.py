"""The OpenAPI document: each command's request body is its pydantic model's JSON Schema, and
every documented response shape is the contract's result or error object."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from application.commands import COMMANDS

REF = "#/components/schemas/{model}"

RESULT = {
    "type": "object",
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}},
    "additionalProperties": True,
}
ERROR = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"type": "boolean", "const": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "reasons"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "reasons": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["rule", "message"],
                        "properties": {"rule": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
            "additionalProperties": True,
        },
    },
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERRORS = {
    "401": "No valid token",
    "403": "The caller's role or scope does not allow this",
    "404": "Unknown patient, authorization or confirmation number",
    "409": "Denied (every unmet rule) or conflict (retryable)",
    "413": "Body too large",
    "415": "Not application/json",
    "422": "Invalid: malformed, unknown field, wrong type, future date",
}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def install_openapi(app: FastAPI) -> None:
    """Replace the generated document with one that describes every command body."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["Result"] = RESULT
        components["Error"] = ERROR
        for name, model in COMMANDS.items():
            schema = model.model_json_schema(ref_template=REF)
            components.update(schema.pop("$defs", {}))
            schema["properties"]["command"] = {"const": name, "type": "string"}
            schema["required"] = [r for r in schema.get("required", []) if r != "command"]
            components[model.__name__] = schema
            operation = document["paths"][f"/v1/commands/{name}"]["post"]
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}
                },
            }
            operation["parameters"] = [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "Retrying with the same key returns the first result.",
                }
            ]
            operation["responses"] = {
                "200": _response(
                    "Applied, or a duplicate with the first result",
                    {"$ref": "#/components/schemas/Result"},
                ),
                **{
                    code: _response(text, {"$ref": "#/components/schemas/Error"})
                    for code, text in ERRORS.items()
                },
            }
        for path, item in document["paths"].items():
            if path.startswith("/v1/commands/"):
                continue
            for operation in item.values():
                for code, text in ERRORS.items():
                    operation.setdefault("responses", {})[code] = _response(text, ERROR_REF)
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
