"""One reader of the notification log and one reading of the database URL (issue 9), on SQLite
and the real PostgreSQL."""

from __future__ import annotations

import pytest

from application.ledger import Ledger
from infra.settings import (
    PostgresUrl,
    SettingsError,
    SqliteUrl,
    event_store_env,
    parse_database_url,
)
from infra.views import ViewDatabase
from tests.program import Program


def test_log_reads_every_event_in_recorded_order_with_its_position(any_ledger: Ledger) -> None:
    """`events` pages through the log in position order; `end` is the last position and
    `event_from` gives the first event at or after a position."""
    Program(any_ledger).participants().ready_male("M1")
    assert any_ledger.notifications.event_from(1) is not None
    end = any_ledger.notifications.end()
    paged = []
    start = 1
    while batch := any_ledger.notifications.events(start, 3):
        paged += batch
        start = batch[-1][0] + 1
    positions = [position for position, _ in paged]
    assert positions == sorted(positions)
    assert positions[-1] == end
    assert len(paged) == len(any_ledger.notifications.events(1, 10_000))
    stamps = [event.timestamp for _, event in paged]
    assert stamps == sorted(stamps)
    last = any_ledger.notifications.event_from(end)
    assert last is not None
    assert last.event_id == paged[-1][1].event_id
    assert any_ledger.notifications.event_from(end + 1) is None
    assert any_ledger.first_recorded_at() == stamps[0]


def test_empty_log_has_no_events_and_ends_at_zero(any_ledger: Ledger) -> None:
    """A new ledger's log is empty: end 0, no first event, no recorded time."""
    assert any_ledger.notifications.end() == 0
    assert any_ledger.notifications.events(1, 10) == []
    assert any_ledger.first_recorded_at() is None


def test_database_url_is_read_once_for_event_store_and_read_models() -> None:
    """The same parse feeds the event store's keys, connect_timeout included."""
    url = parse_database_url("postgresql://rems:s%40cret@db.example:6543/ledger?connect_timeout=7")
    assert url == PostgresUrl(
        host="db.example",
        port=6543,
        user="rems",
        password="s@cret",
        dbname="ledger",
        connect_timeout=7,
    )
    env = event_store_env("postgresql://rems@db.example/ledger?connect_timeout=7")
    assert env["POSTGRES_CONNECT_TIMEOUT"] == "7"
    assert env["POSTGRES_PORT"] == "5432"
    assert parse_database_url("sqlite:///x/rems.db") == SqliteUrl(path="x/rems.db")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u@h/db",
        "sqlite://rems.db",
        "postgresql://h/db",
        "postgresql://u@h/",
        "postgresql://u@h/db?connect_timeout=soon",
    ],
)
def test_database_url_rejects_what_it_cannot_use(url: str) -> None:
    """A URL the ledger cannot use is a SettingsError naming REMS_DATABASE_URL."""
    with pytest.raises(SettingsError, match="REMS_DATABASE_URL"):
        parse_database_url(url)


@pytest.mark.postgres
def test_read_model_connection_honours_connect_timeout(postgres_url: str) -> None:
    """The read-model connection is opened with the URL's connect_timeout (it ignored it)."""
    separator = "&" if "?" in postgres_url else "?"
    database = ViewDatabase(f"{postgres_url}{separator}connect_timeout=9")
    try:
        assert database._pg is not None
        assert database._pg.info.get_parameters()["connect_timeout"] == "9"
    finally:
        database.close()
