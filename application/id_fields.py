"""The command fields that hold a program ID or an RA-/RC- number: pydantic types checked by
the one normaliser in `application.program_ids`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from application.program_ids import ID_RULE, normalised_id, normalised_number


def _checked_id(value: str) -> str:
    text = normalised_id(value)
    if text is None:
        raise ValueError(ID_RULE)
    return text


def _checked_number(value: str) -> str:
    text = normalised_number(value)
    if text is None:
        raise ValueError(ID_RULE)
    return text


ProgramId = Annotated[str, AfterValidator(_checked_id)]
"""A command field holding a patient, prescriber or pharmacy ID."""
NumberRef = Annotated[str, AfterValidator(_checked_number)]
"""A command field holding an authorization or confirmation number."""
