"""Settings from the environment (DESIGN.md, "Settings"), and the event store's configuration.

Settings, not imports, choose SQLite or PostgreSQL: `REMS_DATABASE_URL` becomes the
eventsourcing environment (`PERSISTENCE_MODULE` and its keys) here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from infra.secrets import SecretFileError, read_encryption_key

DEFAULT_DATABASE_URL = "sqlite:///rems.db"
DEFAULT_TIMEZONE = "America/New_York"
MAPPER_TOPIC = "infra.transcoding:PydanticMapper"
TRANSCODER_TOPIC = "infra.transcoding:OrjsonTranscoder"
"""The pydantic+orjson mapper and transcoder, named by topic: the event store resolves them when
it opens, so reading the settings loads no pydantic model (a query's start, issue 9)."""
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
"""eventsourcing's AES-GCM cipher on the `cryptography` package (not its pycryptodome one)."""
UNENCRYPTED_WARNING = (
    "rems: REMS_ENCRYPTION_KEY_FILE is not set: patient data (PHI) is stored unencrypted "
    "(create a key with `rems keys init` and set it)"
)


class ClockMode(StrEnum):
    """`system`: decisions happen now. `event`: each command's `at` is now (simulations)."""

    SYSTEM = "system"
    EVENT = "event"


class SettingsError(ValueError):
    """A setting has a value the ledger cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """The ledger's settings."""

    database_url: str = DEFAULT_DATABASE_URL
    clock: ClockMode = ClockMode.SYSTEM
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    kafka_bootstrap: str | None = None
    signing_key_file: Path | None = None
    """`REMS_SIGNING_KEY_FILE`: the Ed25519 key that signs tree heads (AUDIT-FORMAT.md §4)."""
    sth_file: Path | None = None
    """`REMS_STH_FILE`: the JSON Lines file published tree heads are appended to (§7)."""
    encryption_key_file: Path | None = None
    """`REMS_ENCRYPTION_KEY_FILE`: the AES key of the store and the read models, and the secret
    of the topics' keyed pseudonyms (None: PHI stored unencrypted)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `REMS_DATABASE_URL`, `REMS_CLOCK`, `REMS_TIMEZONE`, `REMS_KAFKA_BOOTSTRAP`,
        `REMS_SIGNING_KEY_FILE`, `REMS_STH_FILE`, `REMS_ENCRYPTION_KEY_FILE` (the key itself is
        read when the store opens)."""
        env = os.environ if environ is None else environ
        clock_name = env.get("REMS_CLOCK", ClockMode.SYSTEM.value)
        try:
            clock = ClockMode(clock_name)
        except ValueError:
            msg = f"REMS_CLOCK must be 'system' or 'event', not {clock_name!r}"
            raise SettingsError(msg) from None
        zone = env.get("REMS_TIMEZONE", DEFAULT_TIMEZONE)
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"REMS_TIMEZONE {zone!r} is not a known IANA time zone"
            raise SettingsError(msg) from None
        url = env.get("REMS_DATABASE_URL", DEFAULT_DATABASE_URL)
        parse_database_url(url)  # validates the URL early
        return cls(
            database_url=url,
            clock=clock,
            timezone=tz,
            kafka_bootstrap=env.get("REMS_KAFKA_BOOTSTRAP") or None,
            signing_key_file=_path(env.get("REMS_SIGNING_KEY_FILE")),
            sth_file=_path(env.get("REMS_STH_FILE")),
            encryption_key_file=_path(env.get("REMS_ENCRYPTION_KEY_FILE")),
        )

    def cipher_key(self) -> str | None:
        """The base64 AES key from `REMS_ENCRYPTION_KEY_FILE` (None when unset)."""
        if self.encryption_key_file is None:
            return None
        try:
            return read_encryption_key(self.encryption_key_file)
        except SecretFileError as error:
            raise SettingsError(str(error)) from None

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing environment for this database URL (a SQLite file is created 0600
        first), with eventsourcing's own cipher setting when an encryption key is configured."""
        env = event_store_env(self.database_url)
        if env.get("SQLITE_DBNAME", ":memory:") != ":memory:":
            create_private_file(Path(env["SQLITE_DBNAME"]))
        key = self.cipher_key()
        if key is not None:
            env.update({"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key})
        return env


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


@dataclass(frozen=True)
class SqliteUrl:
    """`sqlite:///PATH`."""

    path: str


@dataclass(frozen=True)
class PostgresUrl:
    """`postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?connect_timeout=SECONDS]`."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    connect_timeout: int
    """Seconds to wait for a connection (default 30); the event store and the read models
    both honour it."""

    def connect_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `psycopg.connect` for this database."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": self.connect_timeout,
        }


def parse_database_url(database_url: str) -> SqliteUrl | PostgresUrl:
    """The one reading of `REMS_DATABASE_URL`, for the event store and the read models."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = database_url[len("sqlite:///") :] if database_url.startswith("sqlite:///") else ""
        if not path:
            msg = f"REMS_DATABASE_URL {database_url!r}: expected sqlite:///PATH"
            raise SettingsError(msg)
        return SqliteUrl(path=path)
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.hostname or not parts.path.strip("/") or not parts.username:
            msg = (
                f"REMS_DATABASE_URL {database_url!r}: expected "
                "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
            )
            raise SettingsError(msg)
        timeout = parse_qs(parts.query).get("connect_timeout", ["30"])[0]
        if not (timeout.isascii() and timeout.isdigit()):
            msg = f"REMS_DATABASE_URL: connect_timeout must be whole seconds, not {timeout!r}"
            raise SettingsError(msg)
        return PostgresUrl(
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            dbname=parts.path.strip("/"),
            connect_timeout=int(timeout),
        )
    msg = f"REMS_DATABASE_URL {database_url!r}: the scheme must be sqlite or postgresql"
    raise SettingsError(msg)


def event_store_env(database_url: str) -> dict[str, str]:
    """Translate the database URL to eventsourcing keys."""
    url = parse_database_url(database_url)
    common = {"MAPPER_TOPIC": MAPPER_TOPIC, "TRANSCODER_TOPIC": TRANSCODER_TOPIC}
    if isinstance(url, SqliteUrl):
        if url.path != ":memory:":
            Path(url.path).parent.mkdir(parents=True, exist_ok=True)
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": url.path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    return {
        **common,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.dbname,
        "POSTGRES_HOST": url.host,
        "POSTGRES_PORT": str(url.port),
        "POSTGRES_USER": url.user,
        "POSTGRES_PASSWORD": url.password,
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONNECT_TIMEOUT": str(url.connect_timeout),
        # One round trip an append: the insert as one function call that locks the table
        # (infra/postgres_recorder.py).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "APPLICATION_RECORDER_TOPIC": "infra.postgres_recorder:LockingInsertRecorder",
    }


def create_private_file(path: Path) -> None:
    """Create a database file readable by its owner only (0600) before SQLite opens it, so its
    `-wal` and `-shm` files take the same mode; an existing file of ours is tightened too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        with contextlib.suppress(OSError):
            if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
                path.chmod(0o600)


def redacted_url(database_url: str) -> str:
    """The database URL without its password, for messages."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
