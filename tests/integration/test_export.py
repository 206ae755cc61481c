"""`rems export`: the self-contained record of one patient an FDA inspector opens offline.

The program: an FRP made ready for an initial prescription, a telephone request denied (A3), a
survey whose free text holds markup, an authorization, a confirmation and a dispense, then a
positive test and a pregnancy report ten days later.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from application.errors import NotFound
from application.ledger import Ledger
from application.queries import history
from audit.digest import compute_digest
from audit.record import build_record
from domain.catalogue import RULES
from domain.registry import aggregate_id
from entrypoints.cli.export import add_export_command
from rendering.record_html import render_html
from tests.program import Program

HOSTILE = "<script>alert('pwned')</script>"


@pytest.fixture
def exported(program: Program) -> Program:
    """The program above, recorded for patient PAT1."""
    program.ready_frp()
    denied = program.authorize(channel="telephone")
    assert denied["error"]["code"] == "denied", denied
    program.ok("record_patient_survey", patient_id="PAT1", compliant=True, concerns=HOSTILE)
    program.fill()
    program.advance(days=10)
    assert program.test(result="positive")["ok"]
    program.ok(
        "report_pregnancy",
        patient_id="PAT1",
        suspected_on=program.today,
        reported_to_medwatch=True,
        reported_to_rems=True,
    )
    return program


def export_parser() -> argparse.ArgumentParser:
    """A `rems` parser with only the export sub-command registered."""
    parser = argparse.ArgumentParser(prog="rems")
    add_export_command(parser.add_subparsers(dest="action", required=True))
    return parser


def run_export(ledger: Ledger, *argv: str) -> int:
    """Parse `rems export ARGV` and run it on the ledger."""
    args = export_parser().parse_args(["export", *argv])
    code: int = args.run(args, ledger)
    return code


def write_both(ledger: Ledger, folder: Path) -> tuple[dict[str, Any], str]:
    """Export PAT1 as JSON and as HTML into `folder`; return both as read back."""
    assert run_export(ledger, "PAT1", "--format", "json", str(folder / "PAT1.json")) == 0
    assert run_export(ledger, "PAT1", "--format", "html", str(folder / "PAT1.html")) == 0
    record = orjson.loads((folder / "PAT1.json").read_bytes())
    return record, (folder / "PAT1.html").read_text(encoding="utf-8")


def marks(html: str, kind: str) -> int:
    """How many timeline marks of a kind (`test-negative`, `auth-issued`...) the page draws."""
    return len(re.findall(rf'<g class="mark mark-{re.escape(kind)}">', html))


def test_json_export_holds_history_decisions_verification_and_digest(exported, tmp_path):
    """The JSON export has the documented shape: history as recorded, the four decisions with
    their outcomes and a same replay, a clean verification and the ledger's digest."""
    record, _ = write_both(exported.ledger, tmp_path)
    assert set(record) >= {
        "patient_id",
        "generated_at",
        "program_timezone",
        "risk_category",
        "history",
        "events",
        "sth",
        "head",
        "decisions",
        "verification",
        "digest",
    }
    assert record["patient_id"] == "PAT1"
    assert record["program_timezone"] == "America/New_York"
    assert record["risk_category"] == "adult_female_reproductive_potential"
    assert datetime.fromisoformat(record["generated_at"]).tzinfo is not None
    assert record["history"] == history(exported.ledger, "PAT1")["events"]
    assert [(d["type"], d["outcome"]) for d in record["decisions"]] == [
        ("AuthorizationDenied", "denied"),
        ("AuthorizationIssued", "issued"),
        ("DispenseConfirmed", "confirmed"),
        ("DispenseRecorded", "dispensed"),
    ]
    for decision in record["decisions"]:
        assert set(decision) >= {
            "type",
            "decided_at",
            "outcome",
            "ruleset_version",
            "reasons",
            "inputs",
            "replay_same",
        }
        assert decision["replay_same"] is True
        assert decision["inputs"]["patient_version"] >= 1
    verification = record["verification"]
    assert verification["ok"] is True
    assert verification["problems"] == []
    assert verification["events_checked"] >= len(record["events"])
    assert record["digest"] == compute_digest(exported.ledger).text


def test_every_decision_reason_carries_its_catalogue_rule_text(exported):
    """Each reason of each decision carries the catalogue text of its rule (the denial: A3)."""
    record = build_record(exported.ledger, "PAT1")
    reasons = [r for d in record["decisions"] for r in d["reasons"]]
    assert [r["rule"] for r in reasons] == ["A3"]
    for reason in reasons:
        assert reason["message"]
        assert reason["rule_text"] == RULES[reason["rule"]].text


def test_timeline_draws_one_mark_per_test_survey_authorization_and_dispense(exported, tmp_path):
    """The inline SVG has one mark per fact, negative and positive tests and issued and denied
    authorizations told apart, along a month axis with a legend."""
    _, html = write_both(exported.ledger, tmp_path)
    assert html.count("<svg") == 1
    assert (marks(html, "test-negative"), marks(html, "test-positive")) == (2, 1)
    assert marks(html, "survey") == 2
    assert (marks(html, "auth-issued"), marks(html, "auth-denied")) == (1, 1)
    assert marks(html, "confirmation") == 1
    assert marks(html, "dispense") == 1
    assert marks(html, "pregnancy-report") == 1
    assert "Mar 2026" in html
    assert "Apr 2026" in html
    assert html.count('class="legend-item"') >= 8


def test_html_loads_nothing_from_outside(exported, tmp_path):
    """The page has no URL of any kind, no script and no stylesheet link: it opens offline."""
    _, html = write_both(exported.ledger, tmp_path)
    lowered = html.lower()
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "url(" not in lowered
    assert not re.search(r"\ssrc\s*=", lowered)


def test_html_escapes_patient_supplied_text(exported, tmp_path):
    """A survey's free text holding markup is shown as text, never as markup."""
    _, html = write_both(exported.ledger, tmp_path)
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert HOSTILE not in html


def test_html_keeps_enrollment_fields_to_the_event_table(exported, tmp_path):
    """The patient's name, address and phone appear only in the event history table."""
    _, html = write_both(exported.ledger, tmp_path)
    table = html.index('<section id="events">')
    for phi in ("Pat Test", "3 Elm St", "555-0199"):
        assert html.count(phi) == 1
        assert html.index(phi) > table


def test_html_shows_the_verification_verdict_and_digest(exported, tmp_path):
    """The header shows the digest and a green verdict when the store is intact."""
    _, html = write_both(exported.ledger, tmp_path)
    assert compute_digest(exported.ledger).text in html
    assert '<span class="badge ok" id="verdict">✔ VERIFIED: record intact</span>' in html


def test_html_shows_a_failed_verification_naming_the_altered_event(exported, sqlite_url):
    """An event of the patient altered in the store turns the verdict red and lists the
    problem with its aggregate and version."""
    patient = aggregate_id("patient", "PAT1")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 5",
            (patient.hex,),
        ).fetchone()
        forged = bytes(state).replace(b'"result":"negative"', b'"result":"positive"')
        assert forged != state
        db.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 5",
            (forged, patient.hex),
        )
    record = build_record(exported.ledger, "PAT1")
    assert record["verification"]["ok"] is False
    [problem] = record["verification"]["problems"]
    assert (problem["aggregate_id"], problem["version"]) == (str(patient), 5)
    html = render_html(record)
    assert 'class="badge bad" id="verdict"' in html
    assert "does not match its hash" in html


def test_export_of_an_unknown_patient_is_not_found_and_writes_nothing(exported, tmp_path):
    """An unknown patient raises NotFound (exit status 1 under `rems`) and OUT is not written."""
    out = tmp_path / "nobody.html"
    with pytest.raises(NotFound, match="NOBODY"):
        run_export(exported.ledger, "NOBODY", "--format", "html", str(out))
    assert not out.exists()
    assert list(tmp_path.glob(".nobody.html*")) == []


def test_unknown_format_is_rejected_by_argparse(capsys):
    """`--format pdf` is a usage error (exit status 2) naming the choices."""
    with pytest.raises(SystemExit) as exit_info:
        export_parser().parse_args(["export", "PAT1", "--format", "pdf", "out.pdf"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_html_renders_headless_in_chromium(exported, tmp_path):
    """Chromium, with networking off, renders the page to a non-trivial PNG screenshot."""
    _, _ = write_both(exported.ledger, tmp_path)
    screenshot = tmp_path / "export.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,1600",
            (tmp_path / "PAT1.html").as_uri(),
        ],
        capture_output=True,
        timeout=timedelta(minutes=1).total_seconds(),
        check=False,
    )
    assert screenshot.exists()
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 50_000
