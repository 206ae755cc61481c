"""Integration tests for ``devtools.postgres_server`` against a real PostgreSQL server."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from devtools.postgres_server import STATE_FILE, free_port, main, running_postgres

# Imported so this module runs on its own; the top-level conftest may provide them too.

pytestmark = pytest.mark.postgres


def _port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    """A not-yet-existing path under /tmp (reachable by the postgres user), cleaned up after."""
    parent = Path(tempfile.mkdtemp(prefix="rems-pg-test-", dir="/tmp"))
    parent.chmod(0o755)
    try:
        yield parent / "cluster"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_running_postgres_round_trips_a_row_and_stops() -> None:
    """A server from running_postgres() stores and returns a row, then stops on exit."""
    with running_postgres() as url:
        assert url.startswith("postgresql://postgres@127.0.0.1:")
        assert url.endswith("/rems")
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE prescriber (id integer PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO prescriber VALUES (%s, %s)", (1, "Dr. Ödön Ünal"))
            conn.commit()
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT id, name FROM prescriber").fetchall()
            encoding = conn.execute("SHOW server_encoding").fetchone()
        assert rows == [(1, "Dr. Ödön Ünal")]
        assert encoding == ("UTF8",)
        port = _port_of(url)
        assert _accepts_connections(port)
    assert not _accepts_connections(port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2).close()


@pytest.mark.parametrize(("durable", "expected_fsync"), [(False, "off"), (True, "on")])
def test_durable_flag_controls_fsync(durable: bool, expected_fsync: str) -> None:
    """durable=False turns fsync off (the test default) and durable=True keeps it on."""
    with running_postgres(durable=durable) as url, psycopg.connect(url) as conn:
        assert conn.execute("SHOW fsync").fetchone() == (expected_fsync,)


def test_explicit_port_and_dir_are_used_and_created_dir_is_removed(scratch_dir: Path) -> None:
    """An explicit port and a new data_dir are used, and the dir it created is deleted on exit."""
    port = free_port()
    with running_postgres(data_dir=scratch_dir, port=port) as url:
        assert _port_of(url) == port
        assert (scratch_dir / "data" / "PG_VERSION").is_file()
    assert not scratch_dir.exists()
    assert not _accepts_connections(port)


def test_existing_dir_is_kept_and_its_data_survives_a_restart(scratch_dir: Path) -> None:
    """A pre-existing data_dir is kept after exit, so a second run sees the first run's rows."""
    scratch_dir.mkdir()
    with running_postgres(data_dir=scratch_dir) as url, psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE kept (value text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
        conn.commit()
    assert (scratch_dir / "data" / "PG_VERSION").is_file()
    with running_postgres(data_dir=scratch_dir) as url, psycopg.connect(url) as conn:
        assert conn.execute("SELECT value FROM kept").fetchall() == [("still here",)]


def test_start_failure_includes_server_log_and_cleans_up(scratch_dir: Path) -> None:
    """When the port is taken, the error carries the server log tail and the dir is removed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy_port = blocker.getsockname()[1]
        with (
            pytest.raises(RuntimeError, match="could not bind") as failure,
            running_postgres(data_dir=scratch_dir, port=busy_port),
        ):
            pytest.fail("the server must not start on a busy port")
    assert "server.log" in str(failure.value)
    assert not scratch_dir.exists()


def test_fresh_postgres_url_is_an_empty_database_on_the_session_server(
    postgres_url: str,
    fresh_postgres_url: str,
) -> None:
    """fresh_postgres_url is a new, empty database on the same server as postgres_url."""
    assert _port_of(fresh_postgres_url) == _port_of(postgres_url)
    assert urlsplit(fresh_postgres_url).path != urlsplit(postgres_url).path
    with psycopg.connect(fresh_postgres_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE only_here (id integer)")
        conn.commit()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)


def test_fresh_postgres_url_databases_differ_between_tests(
    fresh_postgres_url: str,
) -> None:
    """Each test gets its own database name, so tables from other tests are absent."""
    with psycopg.connect(fresh_postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)


def test_cli_up_down_keeps_data_and_purge_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI's up/down cycle records state, keeps data across restarts and --purge removes it."""
    monkeypatch.chdir(tmp_path)
    state_file = tmp_path / STATE_FILE
    assert main(["up"]) == 0
    url = capsys.readouterr().out.strip()
    try:
        state = json.loads(state_file.read_text())
        assert state["url"] == url
        assert state["running"] is True
        assert main(["up"]) == 0  # idempotent: reports the same server
        assert capsys.readouterr().out.strip() == url
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE dev (n integer)")
            conn.execute("INSERT INTO dev VALUES (7)")
            conn.commit()

        assert main(["down"]) == 0
        assert not _accepts_connections(_port_of(url))
        assert main(["status"]) == 3
        assert Path(state["dir"]).is_dir()

        assert main(["up"]) == 0
        url_again = capsys.readouterr().out.strip()
        with psycopg.connect(url_again) as conn:
            assert conn.execute("SELECT n FROM dev").fetchall() == [(7,)]
    finally:
        assert main(["down", "--purge"]) == 0
    assert not state_file.exists()
    assert not Path(state["dir"]).exists()
    assert not _accepts_connections(_port_of(url))
