"""Program IDs and RA-/RC- numbers as they enter the ledger (DESIGN.md, "Commands and fields").

A program ID (patient, prescriber, pharmacy) is normalised — Unicode NFKC, surrounding whitespace
removed, upper-cased — and must then match `[A-Z0-9][A-Z0-9._-]{0,63}`, so a full-width `P1`
and `p1` are `P1`, and `P1\u200b`, `P1\u0000` or `../../etc/passwd` are `invalid`. Authorization and
confirmation numbers are read case-insensitively in Crockford base32 (`I`/`L` read as `1`, `O`
as `0`). The same functions serve commands, queries and HTTP paths, so an ID means one thing
wherever it enters (the command models' field types are in `application.id_fields`; this module
loads no pydantic, so a query's start does not).
"""

from __future__ import annotations

import re
import unicodedata

from application.errors import InvalidCommand

PROGRAM_ID = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")
NUMBER = re.compile(r"(RA|RC)-([0-9A-Z]{4})-([0-9A-Z]{4})-([0-9A-Z]{4})")
CROCKFORD_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
ID_RULE = "an ID is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"


def normalised_id(value: str) -> str | None:
    """The program ID in its one written form, or None when it is not a valid ID."""
    text = unicodedata.normalize("NFKC", value).strip().upper()
    return text if PROGRAM_ID.fullmatch(text) else None


def normalised_number(value: str) -> str | None:
    """An RA-/RC- number in its issued form (Crockford aliases read as digits); any other valid
    ID is returned normalised (it will simply not be found); None when it is not an ID."""
    text = normalised_id(value)
    if text is None:
        return None
    match = NUMBER.fullmatch(text)
    if match is None:
        return text
    groups = (g.translate(CROCKFORD_ALIASES) for g in match.groups()[1:])
    return "-".join((match.group(1), *groups))


def program_id(value: str, field: str) -> str:
    """The normalised ID; `invalid` naming the field otherwise."""
    return _checked(normalised_id(value), value, field)


def number(value: str, field: str) -> str:
    """The normalised RA-/RC- number; `invalid` naming the field when it is not an ID."""
    return _checked(normalised_number(value), value, field)


def _checked(text: str | None, value: str, field: str) -> str:
    if text is None:
        msg = f"{field}: {ID_RULE} (got {_shown(value)})."
        raise InvalidCommand(msg, field=field)
    return text


def _shown(value: str) -> str:
    return ascii(value[:80])
