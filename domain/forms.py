"""The Patient-Physician Agreement Form's parts and the reproductive facts (E1-E5, R1)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BeforeValidator

from domain.base import Frozen
from domain.values import Menstruation


class ReproductiveFacts(Frozen):
    """What the prescriber states about a female patient (E4); decides R1."""

    menstruation: Menstruation
    natural_menopause_months: int | None = None
    surgical_or_chemical_menopause_months: int | None = None
    hysterectomy: bool = False
    bilateral_oophorectomy: bool = False


LEGACY_STATEMENT = "(stated; recorded as a yes/no before the letter's text was kept)"


def _legacy_statement(value: object) -> object:
    # Letters recorded before the statement was text held a boolean: keep them readable.
    if isinstance(value, bool):
        return LEGACY_STATEMENT if value else None
    return value


class Guardian(Frozen):
    """The legal guardian who signs for a minor (E2). A missing name is a missing item."""

    name: str | None = None
    signed: bool
    signed_on: date | None = None


class AuthorizedRepresentative(Frozen):
    """The person who signs for an incompetent adult (E3)."""

    name: str | None = None
    address: str | None = None
    relationship: str | None = None
    power_of_attorney: bool
    signed: bool
    signed_on: date | None = None


class PrescriberLetter(Frozen):
    """The prescriber's letter on file when the representative has no power of attorney (E3)."""

    on_letterhead: bool
    signed_on: date | None = None
    incapacity_statement: Annotated[str | None, BeforeValidator(_legacy_statement)] = None
    """The letter's statement of the patient's incapacity, in its own words."""
    medical_condition: str | None = None
    representative_name: str | None = None
    representative_address: str | None = None
    relationship: str | None = None
    accepts_responsibility: bool


class Signatures(Frozen):
    """The form's signatures and statement marks (E1)."""

    patient_signed: bool
    prescriber_signed: bool
    all_statements_marked: bool
    competent: bool = True
    guardian: Guardian | None = None
    authorized_representative: AuthorizedRepresentative | None = None
    prescriber_letter: PrescriberLetter | None = None
