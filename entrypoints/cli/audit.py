"""The `rems digest` and `rems verify` sub-commands (registered by the `rems` parser).

Each `run` function takes the parsed arguments and the ledger and returns the exit status:
0 ok, 1 when verification found a problem, 2 when the arguments cannot be used (a malformed
digest, a position beyond the log's end); the message then goes to stderr and nothing is read
or recorded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from audit.digest import compute_digest, parse_digest
from audit.findings import VerificationReport
from audit.keys import KeyError_, key_records
from audit.read_models import check_read_models
from audit.sth_check import check_against_sth
from audit.tree_heads import BadInput, check_sth
from audit.verify import verify

if TYPE_CHECKING:
    from application.ledger import Ledger
from entrypoints.cli.printing import print_json


def add_audit_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `digest` and `verify` on the `rems` sub-command parsers."""
    digest = subparsers.add_parser(
        "digest", help="a digest of every aggregate's head, to sign and publish"
    )
    digest.add_argument(
        "--at-position", type=int, metavar="N", help="cover the log up to N (default: its end)"
    )
    digest.add_argument("--json", action="store_true", help="print JSON")
    digest.set_defaults(run=run_digest)
    check = subparsers.add_parser(
        "verify", help="re-read the whole store; exit 1 if anything was altered"
    )
    check.add_argument("--digest", metavar="DIGEST", help="also check a published digest")
    check.add_argument(
        "--sth", metavar="FILE", help="also check the store against a published tree head"
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(run=run_verify)


def run_digest(args: argparse.Namespace, ledger: Ledger) -> int:
    """`rems digest [--at-position N] [--json]`."""
    try:
        digest = compute_digest(ledger, args.at_position)
    except ValueError as error:
        print(f"rems digest: {error}", file=sys.stderr)
        return 2
    if args.json:
        print_json(digest.to_json())
    else:
        print(digest.text)
        print(f"{digest.aggregates} aggregates up to log position {digest.position}")
    return 0


def run_verify(args: argparse.Namespace, ledger: Ledger) -> int:
    """`rems verify [--digest D] [--json]`: exit 1 when not ok, 2 for a malformed digest."""
    if args.digest is not None:
        try:
            parse_digest(args.digest)
        except ValueError as error:
            print(f"rems verify: {error}", file=sys.stderr)
            return 2
    sth = None
    records: list[dict[str, Any]] = []
    if args.sth is not None:
        try:
            sth = check_sth(orjson.loads(Path(args.sth).read_bytes()))
            records = key_records_for(ledger)
            if not any(r.get("key_id") == sth["key_id"] for r in records):
                msg = f"unknown key {sth['key_id']}: not in the keyring of REMS_SIGNING_KEY_FILE"
                raise BadInput(msg)
        except (OSError, orjson.JSONDecodeError, BadInput, KeyError_) as error:
            print(f"rems verify: {args.sth}: {error}", file=sys.stderr)
            return 2
    report = verify(ledger, digest=args.digest, parts=None)
    problems = [*report.problems, *check_read_models(ledger)]
    if sth is not None:
        problems += check_against_sth(ledger, sth, records)
    report = report.model_copy(update={"ok": not problems, "problems": problems})
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        _print_report(report)
    return 0 if report.ok else 1


def key_records_for(ledger: Ledger) -> list[dict[str, Any]]:
    """Every public key record the ledger knows (retired ones included)."""
    key_file = ledger.settings.signing_key_file
    if key_file is None:
        msg = "no public keys: set REMS_SIGNING_KEY_FILE (its keyring holds every key record)"
        raise KeyError_(msg)
    return key_records(key_file)


def _print_report(report: VerificationReport) -> None:
    verdict = "OK" if report.ok else f"NOT OK: {len(report.problems)} problem(s)"
    print(
        f"verify: {verdict} ({report.events_checked} events, {report.aggregates} aggregates, "
        f"up to log position {report.position})"
    )
    if report.digest is not None and report.ok:
        print(f"digest {report.digest} matches")
    for problem in report.problems:
        where = "-" if problem.position is None else str(problem.position)
        print(f"  position {where:<8} {problem.kind.value:<17} {problem.message}")
