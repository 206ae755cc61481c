"""Authorization and confirmation numbers: unique, not guessable, not sequential.

60 random bits from the operating system's CSPRNG, written in Crockford base32 (no I, L, O, U:
nothing to misread at a pharmacy counter), grouped by four. Uniqueness is enforced by the number
claim written in the same transaction as the decision.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
AUTHORIZATION_PREFIX = "RA"
CONFIRMATION_PREFIX = "RC"


def new_number(prefix: str) -> str:
    """A fresh number such as `RA-7K3M-9QXD-2HFP`."""
    value = secrets.randbits(60)
    chars = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(12))
    return f"{prefix}-{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"
