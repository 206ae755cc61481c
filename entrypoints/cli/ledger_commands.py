"""The `rems` commands and queries on the ledger: apply, eligibility, history, due, report,
replay-decision, projections, and the demo.

The queries start without the command path: `apply` loads the batch and `replay-decision` the
replay when they run, and this module loads the ledger and the read models only when a command
runs (README, "Layout": the CLI starts fast). `rems eligibility ID` first asks the read model
as it stands (`application.remembered_eligibility`), before any ledger opens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entrypoints.cli import printing
from entrypoints.cli.printing import print_json

if TYPE_CHECKING:
    from application.ledger import Ledger
    from application.views import Views
    from infra.settings import Settings

Runner = Callable[[argparse.Namespace, "Ledger"], int]


def _answer(args: argparse.Namespace, answer: dict[str, Any], show: Callable[..., None]) -> int:
    print_json(answer) if args.json else show(answer)
    return 0


def _as_of(args: argparse.Namespace, ledger: Ledger) -> datetime | None:
    from application.queries import parse_as_of

    return parse_as_of(args.as_of, ledger) if getattr(args, "as_of", None) else None


def _cmd_apply(args: argparse.Namespace, ledger: Ledger) -> int:
    from application.batch import apply_stream

    try:
        source = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as error:
        print(f"rems: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    with source:
        for result in apply_stream(ledger, source):
            print_json(result)
    return 0


def _fast_eligibility(args: argparse.Namespace, settings: Settings) -> int | None:
    """The answer remembered for the read model as it stands, or None (the full path runs)."""
    if args.as_of:
        return None
    from application.remembered_eligibility import Unanswered, remembered_answer

    try:
        answer = remembered_answer(settings, args.patient_id)
    except Unanswered:
        return None
    if args.json:
        sys.stdout.buffer.write(answer + b"\n")
    else:
        import orjson

        printing.eligibility(orjson.loads(answer))
    return 0


def _cmd_eligibility(args: argparse.Namespace, ledger: Ledger) -> int:
    from application.queries import default_now, eligibility
    from application.views import Views

    as_of = _as_of(args, ledger)
    if as_of is not None:
        answer = eligibility(ledger, args.patient_id, as_of)
    else:
        with Views(ledger) as views:
            now = default_now(ledger)
            answer = views.eligibility(args.patient_id, now, remember_answer=True)
    return _answer(args, answer, printing.eligibility)


def _cmd_history(args: argparse.Namespace, ledger: Ledger) -> int:
    from application.queries import history

    answer = history(ledger, args.patient_id, _as_of(args, ledger))
    return _answer(args, answer, printing.history)


def _with_views(run: Callable[[Views, argparse.Namespace], dict[str, Any]], show: Any) -> Runner:
    def command(args: argparse.Namespace, ledger: Ledger) -> int:
        from application.views import Views

        with Views(ledger) as views:
            return _answer(args, run(views, args), show)

    return command


def _due(views: Views, args: argparse.Namespace) -> dict[str, Any]:
    from application.queries import default_now, parse_as_of

    on = parse_as_of(args.on, views.ledger) if args.on else default_now(views.ledger)
    return views.due(on)


def _cmd_projections(args: argparse.Namespace, ledger: Ledger) -> int:
    from application.views import Views

    with Views(ledger) as views:
        applied = views.runner.rebuild() if args.what == "rebuild" else views.runner.catch_up()
        print_json({"applied": applied, "position": views.runner.position()})
    return 0


def _cmd_replay(args: argparse.Namespace, ledger: Ledger) -> int:
    from application.replay import replay_decision

    answer = replay_decision(ledger, args.reference)
    return _answer(args, answer, printing.replay)


def _cmd_demo(args: argparse.Namespace, ledger: Ledger) -> int:
    from simulation.demo import print_summary, run_demo

    summary = run_demo(ledger, patients=args.patients, seed=args.seed)
    return _answer(args, summary, print_summary)


def add_ledger_commands(sub: Any) -> None:
    """Register the commands and queries on the ledger, and the demo."""
    apply = sub.add_parser("apply", help="apply JSON Lines commands from FILE (or - for stdin)")
    apply.add_argument("file")
    apply.set_defaults(run=_cmd_apply)
    for name, run, text in (
        ("eligibility", _cmd_eligibility, "would an authorization be issued? (read model)"),
        ("history", _cmd_history, "the patient's events in recorded order"),
    ):
        query = sub.add_parser(name, help=text)
        query.add_argument("patient_id")
        query.add_argument("--as-of", help="ISO instant, or a date (end of that day)")
        query.add_argument("--json", action="store_true", help="print JSON")
        query.set_defaults(run=run, fast=_fast_eligibility if name == "eligibility" else None)
    due = sub.add_parser("due", help="what is due or overdue per patient (work queue)")
    due.add_argument("--on", help="a date (end of that day) or ISO instant; default now")
    due.add_argument("--json", action="store_true")
    due.set_defaults(run=_with_views(_due, printing.due))
    report = sub.add_parser("report", help="authorizations issued/denied per month")
    report.add_argument("--json", action="store_true")
    report.set_defaults(run=_with_views(lambda views, _: views.report(), printing.report))
    replay = sub.add_parser("replay-decision", help="re-run a recorded decision")
    replay.add_argument("reference", help="RA-..., RC-..., or PATIENT_ID@VERSION")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(run=_cmd_replay)
    projections = sub.add_parser("projections", help="catch up or rebuild the read models")
    projections.add_argument("what", choices=["run", "rebuild"])
    projections.set_defaults(run=_cmd_projections)
    demo = sub.add_parser("demo", help="simulate a realistic program and summarise it")
    demo.add_argument("--patients", type=int, default=240)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(run=_cmd_demo, demo=True)
