"""Reading a message off a topic: the envelope it must hold, and its bytes as text."""

from __future__ import annotations

from pydantic import ValidationError

from consumers.envelope import SCHEMA_VERSION, Envelope


def parse_message(value: bytes | None) -> Envelope:
    """The envelope in a message's value; `ValueError` naming the first problem otherwise."""
    if not value:
        msg = "empty message"
        raise ValueError(msg)
    try:
        message = Envelope.model_validate_json(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        msg = f"{where}: {first['msg']} ({error.error_count()} errors)"
        raise ValueError(msg) from None
    if message.schema_version > SCHEMA_VERSION:
        msg = f"schema version {message.schema_version} is newer than {SCHEMA_VERSION}"
        raise ValueError(msg)
    return message


def message_text(value: bytes | None) -> str | None:
    """A key or value as text, for a dead letter (undecodable bytes replaced)."""
    return None if value is None else value.decode("utf-8", errors="replace")
