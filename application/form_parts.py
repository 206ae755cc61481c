"""The nested parts of the enrollment form as a command carries them (E2, E3): strict at depth.

Types are strict inside the parts too: a boolean is JSON `true`/`false` (never `1`, `"yes"` or
`"true"`), a date is `YYYY-MM-DD`, and a wrong type is `invalid`. A text of a part is the form's
own words: an absent or blank one (after trimming) is a missing item, so the form is `denied`
with E2/E3 naming it, never accepted with an empty name.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from application.bounds import Day
from domain.forms import AuthorizedRepresentative, Guardian, PrescriberLetter

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: object) -> object:
    if isinstance(value, str) and CONTROL.search(value):
        raise ValueError("control characters are not allowed in a text")
    return value


def _blank_is_missing(value: object) -> object:
    value = _no_control_characters(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


Text = Annotated[
    str,
    BeforeValidator(_no_control_characters),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
]
"""A required text of a command: non-empty after trimming, no control characters."""
LongText = Annotated[
    str, BeforeValidator(_no_control_characters), StringConstraints(max_length=2000)
]
"""An optional free text (survey concerns): no control characters."""
FormText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None,
    BeforeValidator(_blank_is_missing),
]
"""A text of a form part: absent or blank is a missing item (judged by E2/E3)."""


class Part(BaseModel):
    """A nested part of the form: unknown fields and loose types are `invalid`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class GuardianPart(Part):
    name: FormText = None
    signed: bool
    signed_on: Day | None = None

    def to_domain(self) -> Guardian:
        """The part as the domain's form records it."""
        return Guardian(**self.model_dump())


class RepresentativePart(Part):
    name: FormText = None
    address: FormText = None
    relationship: FormText = None
    power_of_attorney: bool
    signed: bool
    signed_on: Day | None = None

    def to_domain(self) -> AuthorizedRepresentative:
        """The part as the domain's form records it."""
        return AuthorizedRepresentative(**self.model_dump())


class LetterPart(Part):
    on_letterhead: bool
    signed_on: Day | None = None
    incapacity_statement: FormText = None
    """The letter's own statement of the patient's incapacity (text)."""
    medical_condition: FormText = None
    representative_name: FormText = None
    representative_address: FormText = None
    relationship: FormText = None
    accepts_responsibility: bool

    def to_domain(self) -> PrescriberLetter:
        """The part as the domain's form records it."""
        return PrescriberLetter(**self.model_dump())
