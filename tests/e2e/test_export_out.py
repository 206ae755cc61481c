"""`rems export P OUT` (issue 10, "The HTTP edge"): an OUT that exists and is not a regular
file (a symlink, a directory, a device) is refused with exit 2 and left as it was; `-` writes
the record to stdout."""

from __future__ import annotations

import argparse
import os
import stat

import orjson
import pytest

from application.ledger import Ledger
from entrypoints.cli.export import add_export_command
from tests.program import Program


@pytest.fixture
def enrolled(program: Program) -> Program:
    """PAT1 enrolled (an FRP made ready for a prescription)."""
    return program.ready_frp()


def run_export(ledger: Ledger, *argv: str) -> int:
    """Parse `rems export ARGV` and run it on the ledger."""
    parser = argparse.ArgumentParser(prog="rems")
    add_export_command(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(["export", *argv])
    code: int = args.run(args, ledger)
    return code


def test_export_refuses_a_symlink_and_leaves_it_and_its_target_alone(enrolled, tmp_path, capsys):
    """OUT a symbolic link (to a file elsewhere): exit 2 naming it a symbolic link; the link
    still points where it did and its target is unchanged."""
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    link = tmp_path / "PAT1.html"
    link.symlink_to(target)
    assert run_export(enrolled.ledger, "PAT1", str(link)) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_refuses_a_dangling_symlink(enrolled, tmp_path, capsys):
    """A symbolic link to nothing is refused too (the rename would replace the link)."""
    link = tmp_path / "PAT1.json"
    link.symlink_to(tmp_path / "missing")
    assert run_export(enrolled.ledger, "PAT1", "--format", "json", str(link)) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert link.is_symlink()
    assert not (tmp_path / "missing").exists()


def test_export_refuses_a_directory(enrolled, tmp_path, capsys):
    """OUT a directory: exit 2 naming it a directory; the directory is left as it was."""
    folder = tmp_path / "out"
    folder.mkdir()
    assert run_export(enrolled.ledger, "PAT1", str(folder)) == 2
    assert "is a directory" in capsys.readouterr().err
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_export_refuses_a_device(enrolled, tmp_path, capsys):
    """OUT a character device: exit 2 naming it a device; it stays a device. The node is made
    in the test's folder (never a system one such as /dev/null, which a regression would
    replace when the tests run as root)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    assert run_export(enrolled.ledger, "PAT1", str(device)) == 2
    assert "is a device" in capsys.readouterr().err
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_export_refuses_a_named_pipe(enrolled, tmp_path, capsys):
    """OUT a named pipe (FIFO): exit 2; it stays a pipe."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert run_export(enrolled.ledger, "PAT1", str(fifo)) == 2
    assert "is not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_replaces_an_existing_regular_file(enrolled, tmp_path):
    """An existing regular file is still replaced by the record (exit 0)."""
    out = tmp_path / "PAT1.json"
    out.write_text("stale")
    assert run_export(enrolled.ledger, "PAT1", "--format", "json", str(out)) == 0
    assert orjson.loads(out.read_bytes())["patient_id"] == "PAT1"


def test_export_dash_writes_the_record_to_stdout(enrolled, tmp_path, capsysbinary):
    """OUT `-`: the JSON record is written to stdout (exit 0) and no file is created."""
    os.chdir(tmp_path)
    assert run_export(enrolled.ledger, "PAT1", "--format", "json", "-") == 0
    printed = capsysbinary.readouterr().out
    assert orjson.loads(printed)["patient_id"] == "PAT1"
    assert not (tmp_path / "-").exists()
