"""The web pages' server-side sessions (`entrypoints/web/sessions.py`) on each backend (SQLite
and the real PostgreSQL): opened for a token, stored hashed, ended by expiry, by sign-out and
by revoking the token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from entrypoints.http.tokens import Role, TokenStore
from entrypoints.web.sessions import SESSION_SECONDS, SessionStore
from infra.views import ViewDatabase

NOW = 1_800_000_000.0


@pytest.fixture
def stores(backend_url: str) -> Iterator[tuple[TokenStore, SessionStore]]:
    """A token store and a session store over one fresh database."""
    database = ViewDatabase(backend_url)
    try:
        yield TokenStore(database), SessionStore(database)
    finally:
        database.close()


def test_a_session_names_its_tokens_principal_until_it_expires(stores) -> None:
    """A session opened for a compliance token answers with that principal (and a CSRF value)
    up to one second before SESSION_SECONDS, and with nobody from then on; the table holds
    neither the session ID nor the token."""
    tokens, sessions = stores
    token_id, token = tokens.create(Role.COMPLIANCE, "staff-1")
    principal = tokens.authenticate(token)
    assert principal is not None
    session_id = sessions.open(principal, NOW)
    found = sessions.principal(session_id, NOW + SESSION_SECONDS - 1)
    assert found is not None
    assert (found.token_id, found.role, found.subject) == (token_id, Role.COMPLIANCE, "staff-1")
    assert len(found.csrf) > 40
    assert sessions.principal(session_id, NOW + SESSION_SECONDS) is None
    with sessions.database.transaction() as cursor:
        rows = cursor.fetchall("SELECT * FROM web_sessions")
    assert session_id not in repr(rows)
    assert token not in repr(rows)


def test_sign_out_and_token_revocation_end_a_session(stores) -> None:
    """Revoking the session ends it (a second revoke is False); revoking the token ends every
    session opened with it; an unknown session ID names nobody."""
    tokens, sessions = stores
    token_id, token = tokens.create(Role.AUDITOR, "audit-1")
    principal = tokens.authenticate(token)
    assert principal is not None
    first, second = sessions.open(principal, NOW), sessions.open(principal, NOW)
    assert sessions.revoke(first, NOW + 1)
    assert not sessions.revoke(first, NOW + 2)
    assert sessions.principal(first, NOW + 3) is None
    assert sessions.principal(second, NOW + 3) is not None
    assert tokens.revoke(token_id)
    assert sessions.principal(second, NOW + 4) is None
    assert sessions.principal("made-up", NOW) is None


def test_opening_a_session_sweeps_expired_ones(stores) -> None:
    """Expired sessions are deleted when another is opened, so the table does not grow."""
    tokens, sessions = stores
    principal = tokens.authenticate(tokens.create(Role.COMPLIANCE, "staff-1")[1])
    assert principal is not None
    sessions.open(principal, NOW)
    sessions.open(principal, NOW + SESSION_SECONDS + 1)
    with sessions.database.transaction() as cursor:
        rows = cursor.fetchall("SELECT expires_at FROM web_sessions")
    assert [row[0] for row in rows] == [NOW + 2 * SESSION_SECONDS + 1]
