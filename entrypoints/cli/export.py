"""`rems export PATIENT_ID --format html|json OUT` (registered by the `rems` parser).

The whole record is built and rendered before anything is written, and OUT is replaced in one
step (a temporary file in the same folder, then a rename), so an unknown patient or a failure
half-way never leaves a partial or stale file behind. The file is created readable by its
owner only (it holds the enrollment fields, which are PHI). OUT `-` writes to stdout. An OUT
that exists and is not a regular file (a symlink, a directory, a device, a pipe) is refused:
the rename would replace the link or the device node itself, and a record of PHI must land
only where the operator meant it to.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from audit.export_check import check_export, key_records_of
from audit.keys import KeyError_
from audit.record import NO_KEY, render
from audit.tree_heads import BadInput
from entrypoints.cli.printing import print_json
from entrypoints.cli.tree_heads import kafka_sender
from infra.settings import Settings

if TYPE_CHECKING:
    from application.ledger import Ledger

FORMATS = ("html", "json")
STDOUT = "-"


def add_export_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `export` and `verify-export` on the `rems` sub-command parsers."""
    export = subparsers.add_parser(
        "export", help="write a self-contained inspection record of one patient"
    )
    export.add_argument("patient_id")
    export.add_argument("--format", choices=FORMATS, default="html", help="html (default) or json")
    export.add_argument("out", metavar="OUT", help="the file to write, or - for stdout")
    export.set_defaults(run=run_export)
    check = subparsers.add_parser(
        "verify-export", help="check a JSON export offline against the program's public key"
    )
    check.add_argument("file", metavar="FILE")
    check.add_argument(
        "--public-key", required=True, metavar="KEYFILE", help="`rems keys public --json` output"
    )
    check.add_argument("--patient", metavar="ID", help="also require the events to be ID's")
    check.add_argument("--json", action="store_true")
    check.set_defaults(offline=run_verify_export)


def not_a_regular_file(out: Path) -> str | None:
    """What `out` is when it exists and is not a regular file (the link itself, not its
    target), else None."""
    try:
        mode = out.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def run_export(args: argparse.Namespace, ledger: Ledger) -> int:
    """Write the export; exit 0, or 2 when OUT cannot be written (nothing is left behind).
    An unknown patient raises `NotFound` before anything is written."""
    out = Path(args.out)
    if args.out != STDOUT and (kind := not_a_regular_file(out)):
        print(
            f"rems export: {out} exists and is {kind}; give a new or regular file (or - for "
            "stdout)",
            file=sys.stderr,
        )
        return 2
    try:
        content = render(ledger, args.patient_id, args.format, kafka_sender(ledger.settings))
    except (KeyError_, BadInput) as error:
        print(f"rems export: {error}", file=sys.stderr)
        return 2
    if ledger.settings.signing_key_file is None:
        print(f"rems export: {NO_KEY}", file=sys.stderr)
    if args.out == STDOUT:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return 0
    try:
        write_atomically(out, content)
    except OSError as error:
        print(f"rems export: cannot write {out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"rems export: wrote {out} ({args.format}, {len(content)} bytes)", file=sys.stderr)
    return 0


def run_verify_export(args: argparse.Namespace, settings: Settings) -> int:
    """`rems verify-export FILE --public-key KEYFILE [--patient ID] --json`: exit 0 ok, 1 not
    ok, 2 when the export or the key file cannot be read as such."""
    try:
        records = key_records_of(orjson.loads(Path(args.public_key).read_bytes()))
        record = orjson.loads(Path(args.file).read_bytes())
        problems = check_export(record, records, args.patient)
    except (OSError, orjson.JSONDecodeError, BadInput) as error:
        print(f"rems verify-export: {error}", file=sys.stderr)
        return 2
    if args.json:
        print_json({"ok": not problems, "problems": problems})
    else:
        print("verify-export: OK" if not problems else f"verify-export: NOT OK ({len(problems)})")
        for problem in problems:
            print(f"  {problem}")
    return 0 if not problems else 1


def write_atomically(out: Path, content: bytes) -> None:
    """Replace `out` with `content` in one rename (refusing, at the last moment too, an `out`
    that became something other than a regular file)."""
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        if kind := not_a_regular_file(out):
            raise IsADirectoryError(0, f"it exists and is {kind}")
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
