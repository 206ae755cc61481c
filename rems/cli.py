"""The `rems` command line: `apply`, `eligibility`, `history`, `demo`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from infra.settings import Settings, SettingsError
from rems.batch import apply_lines
from rems.errors import RemsError
from rems.ledger import Ledger
from rems.queries import eligibility, history, parse_as_of


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj) + b"\n")
    sys.stdout.flush()


def _cmd_apply(args: argparse.Namespace, ledger: Ledger) -> int:
    try:
        source = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as error:
        print(f"rems: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    with source:
        for result in apply_lines(ledger, source):
            _print_json(result)
    return 0


def _print_eligibility(answer: dict[str, Any]) -> None:
    verdict = "ELIGIBLE" if answer["eligible"] else "NOT ELIGIBLE"
    print(f"{answer['patient_id']}: {verdict} ({answer['risk_category']}) as of {answer['as_of']}")
    for reason in answer["reasons"]:
        print(f"  {reason['rule']:<3} {reason['message']}")
    for name, due in answer["next_due"].items():
        if due:
            print(f"  next {name.replace('_', ' ')}: {due}")


def _print_history(answer: dict[str, Any]) -> None:
    print(f"{'recorded_at':<26} {'occurred_at':<26} event")
    for event in answer["events"]:
        print(f"{event['recorded_at']:<26} {event['occurred_at']:<26} {event['type']}")


def _query(
    run: Callable[[Ledger, str, Any], dict[str, Any]], show: Callable[[dict[str, Any]], None]
) -> Callable[[argparse.Namespace, Ledger], int]:
    def command(args: argparse.Namespace, ledger: Ledger) -> int:
        as_of = parse_as_of(args.as_of, ledger) if args.as_of else None
        answer = run(ledger, args.patient_id, as_of)
        if args.json:
            _print_json(answer)
        else:
            show(answer)
        return 0

    return command


def _cmd_demo(args: argparse.Namespace, ledger: Ledger) -> int:
    from rems.demo import run_demo

    summary = run_demo(ledger, patients=args.patients, seed=args.seed)
    if args.json:
        _print_json(summary)
    else:
        from rems.demo import print_summary

        print_summary(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every `rems` sub-command."""
    parser = argparse.ArgumentParser(prog="rems", description="Lenalidomide REMS ledger")
    sub = parser.add_subparsers(dest="action", required=True)
    apply = sub.add_parser("apply", help="apply JSON Lines commands from FILE (or - for stdin)")
    apply.add_argument("file")
    apply.set_defaults(run=_cmd_apply)
    for name, run, show, text in (
        ("eligibility", eligibility, _print_eligibility, "would an authorization be issued?"),
        ("history", history, _print_history, "the patient's events in recorded order"),
    ):
        query = sub.add_parser(name, help=text)
        query.add_argument("patient_id")
        query.add_argument("--as-of", help="ISO instant, or a date (end of that day)")
        query.add_argument("--json", action="store_true", help="print JSON")
        query.set_defaults(run=_query(run, show))
    demo = sub.add_parser("demo", help="simulate a realistic program and summarise it")
    demo.add_argument("--patients", type=int, default=240)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(run=_cmd_demo, demo=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a `rems` sub-command; exit 0 on success, 1 on a query error, 2 on bad settings."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if getattr(args, "demo", False):
            from rems.demo import demo_settings

            settings = demo_settings(settings)
        ledger = Ledger(settings)
    except SettingsError as error:
        print(f"rems: {error}", file=sys.stderr)
        return 2
    try:
        code: int = args.run(args, ledger)
    except RemsError as error:
        _print_json(error.to_result()) if getattr(args, "json", False) else None
        print(f"rems: {error.message}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
