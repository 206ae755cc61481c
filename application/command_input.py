"""A command as the ledger reads it: a JSON object (or a mapping), parsed into its model, and
checked against the receipt of an earlier command sent with the same key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from application.errors import InvalidCommand
from application.parsing import check_depth, strict_json
from domain.registry import CommandReceipt

if TYPE_CHECKING:
    from application.commands import Command


def as_object(raw: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    """The command as a JSON object; `invalid` when it is not one."""
    if isinstance(raw, Mapping):
        obj: Any = dict(raw)
        check_depth(obj)
    else:
        obj = strict_json(raw)
    if not isinstance(obj, dict):
        msg = "A command is a JSON object with a 'command' field."
        raise InvalidCommand(msg)
    return obj


def parse_command(obj: dict[str, Any]) -> Command:
    """The command's model; `invalid` naming the field when it does not validate."""
    from pydantic import ValidationError

    from application.commands import COMMANDS
    from application.parsing import invalid_from_validation

    name = obj.get("command")
    if not isinstance(name, str):
        msg = "command: missing; every line needs a 'command' field."
        raise InvalidCommand(msg, field="command")
    model = COMMANDS.get(name)
    if model is None:
        msg = f"command: unknown command {name!r}; known: {', '.join(sorted(COMMANDS))}."
        raise InvalidCommand(msg, field="command")
    try:
        return model.model_validate_json(orjson.dumps(obj))
    except ValidationError as error:
        raise invalid_from_validation(error) from None
    except orjson.JSONEncodeError as error:  # a caller's dict holding what JSON cannot
        msg = f"The command cannot be read as JSON: {error}."
        raise InvalidCommand(msg) from None


def same_command(receipt: CommandReceipt, obj: dict[str, Any]) -> None:
    """`invalid` when a key already used for one command comes with another."""
    if receipt.command and obj.get("command") != receipt.command:
        msg = (
            f"command_id: {receipt.command_id} was already used for {receipt.command}; "
            "a key names one command."
        )
        raise InvalidCommand(msg, field="command_id")
