"""The `rems` command line starts with only what each sub-command needs (issue 9): no ledger
(and so no database file) for `--help`, `schemas` and `kafka status`; no FastAPI, kafka-python
or psycopg for a query on SQLite; a closed pipe ends it quietly; `--help` lists every command."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.cli import main as cli
from tests.conftest import make_ledger
from tests.program import Program

HEAVY = ("fastapi", "starlette", "kafka", "psycopg", "uvicorn", "cryptography")


def env_on(database: Path) -> dict[str, str]:
    """A `rems` environment on a SQLite file, nothing else REMS_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env["REMS_DATABASE_URL"] = f"sqlite:///{database}"
    return env


def rems(database: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run `rems ARGS` on the SQLite file."""
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=env_on(database),
        capture_output=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [("--help",), ("schemas", "{tmp}/schemas"), ("kafka", "status")], ids=str
)
def test_a_command_that_needs_no_ledger_creates_no_database_file(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """`rems --help`, `rems schemas DIR` and `rems kafka status` never open the event store, so
    the database file does not appear."""
    database = tmp_path / "rems.db"
    rems(database, *(a.format(tmp=tmp_path) for a in args))
    assert not database.exists()
    assert list(tmp_path.glob("rems.db*")) == []


def modules_after(database: Path, *args: str, clock: str = "system") -> set[str]:
    """Every module a `rems ARGS` run had imported when it ended (under the given clock)."""
    probe = (
        "import sys\n"
        "from entrypoints.cli.main import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env_on(database), "REMS_CLOCK": clock},
        capture_output=True,
        timeout=300,
        check=False,
    )
    return set(run.stderr.decode().split("\n")[-2].split())


def modules_loaded_by(database: Path, *args: str) -> set[str]:
    """The top-level packages a `rems ARGS` run imported."""
    return {module.split(".")[0] for module in modules_after(database, *args)}


def test_help_and_a_query_on_sqlite_import_no_web_kafka_or_postgres_library(
    tmp_path: Path,
) -> None:
    """`rems --help` imports no ledger at all; `rems eligibility ID` on SQLite imports neither
    FastAPI, kafka-python nor psycopg."""
    database = tmp_path / "rems.db"
    helped = modules_loaded_by(database, "--help")
    assert "application" not in helped
    assert "pydantic" not in helped
    asked = modules_loaded_by(database, "eligibility", "PT-NONE")
    assert "application" in asked
    assert not asked & set(HEAVY)


def test_history_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`rems history X | head -1`: when the reader has gone, rems ends with the shell's SIGPIPE
    status and no traceback."""
    database = tmp_path / "rems.db"
    ledger = make_ledger(f"sqlite:///{database}")
    Program(ledger).participants().ready_male("M1")
    ledger.close()
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before rems writes its first line
    try:
        run = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "history", "M1", "--json"],
            env=env_on(database),
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=300,
            check=False,
        )
    finally:
        os.close(writer)
    assert b"Traceback" not in run.stderr
    assert b"BrokenPipeError" not in run.stderr
    assert run.returncode == cli.PIPE_CLOSED


def test_help_lists_every_command_the_modules_register() -> None:
    """The lazily loaded parser's table names every sub-command with the help its module gives,
    in the same order as the full parser."""
    full = cli.build_parser()
    action = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    registered = {choice.dest: choice.help for choice in action._choices_actions}
    assert registered == {name: text for name, (_, text) in cli.COMMANDS.items()}
    lazy = cli.build_parser(["--help"])
    lazy_action = next(a for a in lazy._actions if isinstance(a, argparse._SubParsersAction))
    assert [c.dest for c in lazy_action._choices_actions] == list(cli.COMMANDS)
    for name, (group, _) in cli.COMMANDS.items():
        parser = cli.build_parser([name])
        chosen = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert chosen.choices[name].add_help, f"{name}: its group {group} was not loaded"
