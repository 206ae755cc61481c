"""Server-side sessions of the web pages: the browser holds a random session ID, never the API
token.

A session is 256 random bits; the table `web_sessions` (beside `api_tokens`) keeps only its
SHA-256, the token it was opened with, a CSRF secret for the pages' forms, and an absolute
expiry. A session ends at its expiry, at logout (revoked), or when its token is revoked (the
lookup joins the token and requires it active), whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from entrypoints.http.tokens import Principal, Role
from infra.views import ViewDatabase

SESSION_SECONDS = 12 * 3600
"""A working day: after that, sign in again."""


@dataclass(frozen=True)
class SignedIn(Principal):
    """A principal signed in through the pages, with its session's CSRF secret (the hidden
    field of the logout form)."""

    csrf: str = ""


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Table `web_sessions`; times are seconds since the epoch (the caller's clock)."""

    def __init__(self, database: ViewDatabase) -> None:
        self.database = database
        with database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS web_sessions (sha256 TEXT PRIMARY KEY, "
                "token_id TEXT NOT NULL, csrf TEXT NOT NULL, created_at TEXT NOT NULL, "
                "expires_at DOUBLE PRECISION NOT NULL, revoked_at TEXT)"
            )

    def open(self, principal: Principal, now: float) -> str:
        """A new session for the principal's token, valid SESSION_SECONDS: its ID (shown once,
        to be set as the cookie). Expired sessions are swept at the same time."""
        session_id = secrets.token_urlsafe(32)
        created = datetime.fromtimestamp(now, UTC).isoformat()
        with self.database.transaction() as cursor:
            cursor.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
            cursor.execute(
                "INSERT INTO web_sessions (sha256, token_id, csrf, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    _digest(session_id),
                    principal.token_id,
                    secrets.token_urlsafe(32),
                    created,
                    now + SESSION_SECONDS,
                ),
            )
        return session_id

    def principal(self, session_id: str, now: float) -> SignedIn | None:
        """Who an unexpired, unrevoked session of an active token belongs to."""
        with self.database.transaction() as cursor:
            row = cursor.fetchone(
                "SELECT t.token_id, t.role, t.subject, s.csrf FROM web_sessions s "
                "JOIN api_tokens t ON t.token_id = s.token_id "
                "WHERE s.sha256 = ? AND s.revoked_at IS NULL AND s.expires_at > ? "
                "AND t.revoked_at IS NULL",
                (_digest(session_id), now),
            )
        if row is None:
            return None
        return SignedIn(token_id=row[0], role=Role(row[1]), subject=row[2], csrf=row[3])

    def revoke(self, session_id: str, now: float) -> bool:
        """End a session (logout); False when it was not active."""
        with self.database.transaction() as cursor:
            changed = cursor.execute(
                "UPDATE web_sessions SET revoked_at = ? WHERE sha256 = ? AND revoked_at IS NULL",
                (datetime.fromtimestamp(now, UTC).isoformat(), _digest(session_id)),
            )
        return changed == 1
