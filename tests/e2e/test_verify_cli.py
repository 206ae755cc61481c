"""`rems digest` and `rems verify` through their argument parser (`add_audit_commands`).

The sub-commands are registered on a local parser exactly as ``rems`` registers
them, and run on a real SQLite ledger: exit status 0 when the ledger verifies, 1 when it does
not, 2 for a digest that cannot be used; JSON shapes as in DESIGN.md, "Queries".
"""

from __future__ import annotations

import argparse
import sqlite3
from typing import Any

import orjson
import pytest

from application.ledger import Ledger
from domain.registry import aggregate_id
from entrypoints.cli.audit import add_audit_commands
from tests.program import Program


def rems(ledger: Ledger, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Parse `rems ARGV` with the audit commands and run it: (exit status, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="rems")
    add_audit_commands(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(argv)
    code = args.run(args, ledger)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def as_json(out: str) -> Any:
    """The one JSON line printed."""
    [line] = out.splitlines()
    return orjson.loads(line)


@pytest.fixture
def filled(program: Program) -> Program:
    """DR1, PH1 and a male patient M1 authorized, confirmed and dispensed."""
    program.ready_male("M1")
    program.fill("M1")
    return program


def alter_first_event_of_m1(ledger: Ledger) -> int:
    """Change one byte of M1's enrollment directly in the SQLite file; its log position."""
    path = ledger.settings.database_url[len("sqlite:///") :]
    with sqlite3.connect(path) as conn:
        position, state = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id = ? "
            "AND originator_version = 1",
            (aggregate_id("patient", "M1").hex,),
        ).fetchone()
        altered = state.replace(b"Pat Test", b"Pat Best")
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (altered, position))
    return int(position)


def test_verify_json_on_an_intact_ledger_exits_0(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rems verify --json` on an untouched ledger prints ok with no problems and exits 0."""
    code, out, err = rems(filled.ledger, capsys, "verify", "--json")
    answer = as_json(out)
    assert (code, err) == (0, "")
    assert answer["ok"] is True
    assert answer["problems"] == []
    assert answer["events_checked"] == filled.ledger.notifications.end()
    assert {"ok", "events_checked", "problems", "aggregates", "position"} <= set(answer)


def test_verify_readable_form_says_ok(filled: Program, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json, `rems verify` prints one readable verdict line."""
    code, out, _ = rems(filled.ledger, capsys, "verify")
    assert code == 0
    assert out.startswith("verify: OK (")


def test_verify_on_a_tampered_ledger_exits_1_naming_the_row(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """After one byte of a stored event changed, `rems verify --json` exits 1 and names the
    aggregate, version and position of the altered row."""
    position = alter_first_event_of_m1(filled.ledger)
    code, out, _ = rems(filled.ledger, capsys, "verify", "--json")
    answer = as_json(out)
    assert code == 1
    assert answer["ok"] is False
    [problem] = answer["problems"]
    assert set(problem) == {"aggregate_id", "version", "position", "kind", "message"}
    assert problem["kind"] == "altered"
    assert problem["aggregate_id"] == str(aggregate_id("patient", "M1"))
    assert (problem["version"], problem["position"]) == (1, position)


def test_verify_readable_form_lists_each_problem(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json, a failed verification lists each problem with its position and kind."""
    position = alter_first_event_of_m1(filled.ledger)
    code, out, _ = rems(filled.ledger, capsys, "verify")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("verify: NOT OK: 1 problem(s)")
    assert lines[1].split()[:3] == ["position", str(position), "altered"]


def test_digest_json_shape_and_verify_with_it_exits_0(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rems digest --json` prints position, aggregates and digest; verifying it exits 0."""
    code, out, _ = rems(filled.ledger, capsys, "digest", "--json")
    answer = as_json(out)
    assert code == 0
    assert set(answer) == {"position", "aggregates", "digest"}
    assert answer["position"] == filled.ledger.notifications.end()
    assert answer["digest"].startswith(f"rems-digest-v1:{answer['position']}:")
    code, out, _ = rems(filled.ledger, capsys, "verify", "--digest", answer["digest"], "--json")
    assert (code, as_json(out)["digest"]) == (0, answer["digest"])


def test_digest_at_an_earlier_position(filled: Program, capsys: pytest.CaptureFixture[str]) -> None:
    """`rems digest --at-position N` covers the log up to N; the readable form prints the digest
    first."""
    code, out, _ = rems(filled.ledger, capsys, "digest", "--at-position", "3")
    assert code == 0
    assert out.splitlines()[0].startswith("rems-digest-v1:3:")


def test_digest_beyond_the_end_of_the_log_exits_2(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """A position past the log's end prints a clear message on stderr and exits 2."""
    end = filled.ledger.notifications.end()
    code, out, err = rems(filled.ledger, capsys, "digest", "--at-position", str(end + 1))
    assert (code, out) == (2, "")
    assert "beyond the end of the log" in err


def test_verify_with_a_published_digest_after_the_log_was_cut_exits_1(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting the log's last row (M1's last event) leaves every chain intact, but a digest
    published before now lies beyond the log's end: exit 1 with `digest_beyond_end`."""
    _, out, _ = rems(filled.ledger, capsys, "digest", "--json")
    digest = as_json(out)["digest"]
    path = filled.ledger.settings.database_url[len("sqlite:///") :]
    with sqlite3.connect(path) as conn:
        conn.execute(
            "DELETE FROM stored_events WHERE rowid = (SELECT MAX(rowid) FROM stored_events "
            "WHERE originator_id = ?)",
            (aggregate_id("patient", "M1").hex,),
        )
    code, out, _ = rems(filled.ledger, capsys, "verify", "--digest", digest, "--json")
    assert code == 1
    assert [p["kind"] for p in as_json(out)["problems"]] == ["digest_beyond_end"]
    assert rems(filled.ledger, capsys, "verify")[0] == 0


@pytest.mark.parametrize(
    "digest", ["nonsense", "rems-digest-v1:5:abc", f"rems-digest-v1:-1:{'a' * 64}"]
)
def test_verify_with_a_malformed_digest_exits_2_recording_nothing(
    filled: Program, capsys: pytest.CaptureFixture[str], digest: str
) -> None:
    """A malformed digest prints the expected format on stderr, exits 2, and the log is
    unchanged."""
    end = filled.ledger.notifications.end()
    code, out, err = rems(filled.ledger, capsys, "verify", "--digest", digest, "--json")
    assert (code, out) == (2, "")
    assert "expected rems-digest-v1:POSITION:SHA256" in err
    assert filled.ledger.notifications.end() == end


def test_a_non_numeric_position_is_an_argument_error(
    filled: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--at-position` takes an integer; anything else is a usage error (exit status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        rems(filled.ledger, capsys, "digest", "--at-position", "ten")
    assert exit_info.value.code == 2
