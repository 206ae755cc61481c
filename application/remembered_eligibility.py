"""Eligibility answers remembered beside the read model, so that `rems eligibility ID` on an
up-to-date read model prints its answer without loading the rule engine (issue 9).

The answer depends on the read-model rows *and* on the instant it is judged at. The query's full
path (catch up, fold, judge) stores the JSON it printed with the log position it was judged at,
its instant, a digest of the code that judged it and the instant until which the same rows are
answered the same (`application.queries.eligibility_stands_until`: the next local midnight or the
next instant of the states a rule compares "now" with, whichever comes first). A later query
answers from the row when one SQL query shows the projections at the end of the log and a row
for that very position and code, and:
- under the event clock ("now" is the ledger's last recorded `at`), the row was judged at that
  instant: the bytes are printed as stored;
- under the system clock, "now" lies between the instant judged at and the instant the answer
  stands until: the stored answer is printed with `as_of` set to now, exactly as the full path
  would print it.
Anything else (the read model behind, no row, an older row, a clock gone back, `--as-of`) takes
the full path. "Not enrolled" does not depend on now and is answered from the rows under either.

This module loads no pydantic model: `sqlite3` (or psycopg for a PostgreSQL URL), orjson for
the stored timestamp, and the row cipher when an encryption key is configured. Rows hold what
the answer holds (risk category, reasons, dates; no name, address or phone), sealed under the
read models' key when one is set.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from application.errors import NotFound
from application.program_ids import normalised_id
from infra.settings import ClockMode, Settings, SettingsError, SqliteUrl, parse_database_url
from projections.view import Cursor

TRACKING_NAME = "views"
"""`projections.runner.TRACKING_NAME`, written out: that module loads the events' models."""
POSTGRES_EVENTS_TABLE = "public.rems_events"
"""eventsourcing's table for an application named `rems` (`Ledger.name`) on PostgreSQL; on
SQLite the table is `stored_events` whatever the name."""
JUDGING_CODE = (
    "domain",
    "projections/eligibility.py",
    "application/queries.py",
    "application/views.py",
    "application/remembered_eligibility.py",
)
"""The sources an answer is judged by; a row judged by other code (an upgrade) is not read."""
_ROOT = Path(__file__).resolve().parent.parent

_SELECT = (
    "SELECT t.position, {last_position}, {last_state}, "
    "(SELECT COUNT(*) FROM eligibility_patients WHERE patient_id = ?), "
    "a.position, a.judged_at, a.code, a.answer "
    "FROM projection_tracking t LEFT JOIN eligibility_answers a ON a.patient_id = ? "
    "WHERE t.name = ?"
)
_SQLITE_SELECT = _SELECT.format(
    last_position="(SELECT MAX(rowid) FROM stored_events)",
    last_state="(SELECT state FROM stored_events ORDER BY rowid DESC LIMIT 1)",
)
_POSTGRES_SELECT = _SELECT.format(
    last_position=f"(SELECT MAX(notification_id) FROM {POSTGRES_EVENTS_TABLE})",
    last_state=(
        f"(SELECT state FROM {POSTGRES_EVENTS_TABLE} ORDER BY notification_id DESC LIMIT 1)"
    ),
).replace("?", "%s")
_UPSERT = (
    "INSERT INTO eligibility_answers (patient_id, position, judged_at, code, answer) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id) DO UPDATE SET position = excluded.position, "
    "judged_at = excluded.judged_at, code = excluded.code, answer = excluded.answer"
)


class Unanswered(Exception):
    """The rows cannot answer this query: take the full path."""


def judging_code(settings: Settings) -> str:
    """A digest of the code that judges an answer and of the program's time zone."""
    digest = hashlib.sha256(settings.timezone.key.encode())
    for name in JUDGING_CODE:
        path = _ROOT / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(_ROOT).as_posix().encode() + b"\0")
            digest.update(source.read_bytes())
    return digest.hexdigest()


class RememberedEligibility:
    """Table `eligibility_answers`, created and dropped with the read models (a rebuild starts
    it afresh); it reads no event, its rows are written by `remember`."""

    event_types: tuple[type[Any], ...] = ()
    starts_from: tuple[type[Any], ...] = ()
    stored_types: tuple[type[Any], ...] = ()

    def take_stored(self, event_type: type[Any], state: Mapping[str, Any]) -> bool:
        """Never called: it reads no event."""
        raise NotImplementedError

    def start(self, aggregate_id: str, state: Any) -> None:
        """Never called: it starts from no state."""
        raise NotImplementedError

    def create_tables(self, cursor: Cursor) -> None:
        """Create the table if missing."""
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS eligibility_answers (patient_id TEXT PRIMARY KEY, "
            "position BIGINT NOT NULL, judged_at TEXT NOT NULL, code TEXT NOT NULL, "
            "answer TEXT NOT NULL)"
        )

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop the table."""
        cursor.execute("DROP TABLE IF EXISTS eligibility_answers")

    def process_batch(self, events: Sequence[Any], cursor: Cursor) -> None:
        """Nothing: a row names the position it was judged at, so new events outdate it."""

    def flush(self, cursor: Cursor) -> None:
        """Nothing is held back."""

    def forget(self) -> None:
        """Nothing is kept in memory."""


def remember(
    cursor: Cursor,
    position: int,
    answer: dict[str, Any],
    until: datetime,
    code: str,
    seal: Callable[[str], str],
) -> None:
    """Store the answer judged on the rows at `position` (its `as_of` is the instant), which
    stands until `until` (exclusive). The row's text is that instant, a newline, the JSON."""
    text = f"{until.isoformat()}\n{orjson.dumps(answer).decode()}"
    cursor.execute(_UPSERT, (answer["patient_id"], position, answer["as_of"], code, seal(text)))


@dataclass(frozen=True)
class _Row:
    tracked: int
    last_position: int | None
    last_state: bytes | None
    enrolled: bool
    position: int | None
    judged_at: str | None
    code: str | None
    answer: str | None


def remembered_answer(settings: Settings, patient_id: str, now: datetime | None = None) -> bytes:
    """The JSON bytes the full path would print for `rems eligibility ID --json` now (under
    the system clock `now`, default the server clock); raises `NotFound` (as the full path
    does) when the read model is current and has no such patient, and `Unanswered` when the
    rows cannot tell."""
    patient = normalised_id(patient_id)
    if patient is None:
        raise Unanswered
    row = _read(settings, patient)
    if row.last_position is None or row.tracked != row.last_position:
        raise Unanswered
    if not row.enrolled:
        msg = f"Patient {patient} is not enrolled in the REMS."
        raise NotFound(msg)
    if row.position != row.last_position or row.answer is None or row.judged_at is None:
        raise Unanswered
    if row.code != judging_code(settings):
        raise Unanswered
    until, answer = _opened(settings, row.answer)
    if settings.clock is ClockMode.EVENT:
        if row.last_state is None or row.judged_at != _recorded_at(settings, row.last_state):
            raise Unanswered
        return answer
    now = now or datetime.now(UTC)
    if not datetime.fromisoformat(row.judged_at) <= now < until:
        raise Unanswered
    return orjson.dumps({**orjson.loads(answer), "as_of": now.isoformat()})


def _read(settings: Settings, patient: str) -> _Row:
    url = parse_database_url(settings.database_url)
    params = (patient, patient, TRACKING_NAME)
    if isinstance(url, SqliteUrl):
        if url.path == ":memory:" or not Path(url.path).is_file():
            raise Unanswered
        connection = sqlite3.connect(url.path, timeout=30, isolation_level=None)
        try:
            found = connection.execute(_SQLITE_SELECT, params).fetchone()
        except sqlite3.Error:  # tables not created yet
            raise Unanswered from None
        finally:
            connection.close()
    else:
        import psycopg

        try:
            with psycopg.connect(**url.connect_arguments(), autocommit=True) as pg:
                found = pg.execute(_POSTGRES_SELECT, params).fetchone()
        except psycopg.Error:
            raise Unanswered from None
    if found is None:
        raise Unanswered
    tracked, last, state, enrolled, position, judged_at, code, answer = found
    return _Row(
        int(tracked),
        None if last is None else int(last),
        None if state is None else bytes(state),
        bool(enrolled),
        None if position is None else int(position),
        judged_at,
        code,
        answer,
    )


def _recorded_at(settings: Settings, state: bytes) -> str:
    """The `timestamp` of a stored event, read as `NotificationLog.recorded_at` reads it, in
    the form an answer's `as_of` takes."""
    try:
        key = settings.cipher_key()
    except SettingsError:
        raise Unanswered from None
    try:
        if key is not None:
            from eventsourcing.cryptography import AESCipher
            from eventsourcing.utils import Environment

            state = AESCipher(Environment(env={AESCipher.CIPHER_KEY: key})).decrypt(state)
        return datetime.fromisoformat(orjson.loads(state)["timestamp"]).isoformat()
    except (ValueError, KeyError, TypeError):  # sealed under another key, or not ours at all
        raise Unanswered from None


def _opened(settings: Settings, stored: str) -> tuple[datetime, bytes]:
    """The instant a row's answer stands until, and the answer's JSON bytes."""
    from infra.row_cipher import row_sealer

    try:
        text = row_sealer(settings.cipher_key()).open(stored)
        until, answer = text.split("\n", 1)
        return datetime.fromisoformat(until), answer.encode()
    except SettingsError:
        raise Unanswered from None
    except ValueError:  # sealed under another key (RowCipherError), or not of this form
        raise Unanswered from None
