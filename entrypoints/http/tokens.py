"""API tokens: created once in clear, stored only as their SHA-256, revocable.

A token is 256 random bits; its SHA-256 is enough to store (no salt or slow hash is needed for a
secret of that strength). Each names a role and a subject (the prescriber or pharmacy ID it acts
for; a staff member's ID for compliance and auditors).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from infra.views import ViewDatabase

TOKEN_PREFIX = "rems_"


class Role(StrEnum):
    """Who the caller is."""

    PRESCRIBER = "prescriber"
    PHARMACY = "pharmacy"
    COMPLIANCE = "compliance"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    token_id: str
    role: Role
    subject: str

    @property
    def actor(self) -> str:
        """How the caller is named on the events it causes, e.g. `prescriber:DR1`."""
        return f"{self.role.value}:{self.subject}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Table `api_tokens` beside the ledger."""

    def __init__(self, database: ViewDatabase) -> None:
        self.database = database
        with database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS api_tokens (token_id TEXT PRIMARY KEY, "
                "sha256 TEXT NOT NULL UNIQUE, role TEXT NOT NULL, subject TEXT NOT NULL, "
                "created_at TEXT NOT NULL, revoked_at TEXT)"
            )

    def create(self, role: Role, subject: str) -> tuple[str, str]:
        """A new token for (role, subject): returns (token_id, token). The token is shown once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = "tok_" + secrets.token_hex(6)
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_tokens (token_id, sha256, role, subject, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (token_id, _digest(token), role.value, subject, datetime.now(UTC).isoformat()),
            )
        return token_id, token

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token."""
        with self.database.read() as cursor:
            row = cursor.fetchone(
                "SELECT token_id, role, subject FROM api_tokens "
                "WHERE sha256 = ? AND revoked_at IS NULL",
                (_digest(token),),
            )
        if row is None:
            return None
        return Principal(token_id=row[0], role=Role(row[1]), subject=row[2])

    def revoke(self, token_id: str) -> bool:
        """Revoke a token; False when no such active token."""
        with self.database.transaction() as cursor:
            changed = cursor.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), token_id),
            )
        return changed == 1

    def list(self) -> list[dict[str, str | None]]:
        """Every token's ID, role, subject and dates (never the token)."""
        with self.database.transaction() as cursor:
            rows = cursor.fetchall(
                "SELECT token_id, role, subject, created_at, revoked_at FROM api_tokens "
                "ORDER BY created_at"
            )
        keys = ("token_id", "role", "subject", "created_at", "revoked_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]
