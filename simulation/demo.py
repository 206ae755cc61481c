"""`rems demo`: simulate a realistic program through `rems apply`'s command path and summarise.

At least 200 patients of all six risk categories over six months, with the mishaps a real
program has (a forgotten survey, a telephone prescription, a suspended pharmacy, a pregnancy, a
menstrual abnormality, a lapsed enrollment), each command applied by `Ledger.execute` exactly as
a line of `rems apply`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from application.ledger import Ledger
from infra.settings import ClockMode, Settings
from simulation.journeys import lapsed_journey, patient_journey
from simulation.model import PROFILES, Journey, Simulation, run_journeys

DEMO_DATABASE = Path("rems-demo.db")
TWISTS = ["forgets_survey", "telephone", "partial_counseling", "discontinues"]


def demo_settings(settings: Settings, fresh: bool = True) -> Settings:
    """The store `REMS_DATABASE_URL` names (never emptied: a store with a later clock refuses
    the simulation's commands as `invalid`), else a fresh `rems-demo.db` in the working folder
    (never the default `rems.db`); under the event clock."""
    url = settings.database_url
    if "REMS_DATABASE_URL" not in _env():
        url = f"sqlite:///{DEMO_DATABASE}"
        if fresh:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    return replace(settings, database_url=url, clock=ClockMode.EVENT)


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def journeys_for(sim: Simulation, patients: int) -> list[Journey]:
    """The setup journey, one journey per patient across the six categories, a lapsed one."""
    categories = list(PROFILES)
    journeys = [sim.setup(), lapsed_journey(sim, "PT-LAPSED")]
    for index in range(patients):
        category = categories[index % len(categories)]
        twist = "none"
        if index == 0:
            twist = "pregnancy"
        elif index == 6:
            twist = "abnormality"
        elif sim.rng.random() < 0.12:
            twist = sim.rng.choice(TWISTS)
        journeys.append(patient_journey(sim, f"PT-{index + 1:05d}", category, twist))
    return journeys


def run_demo(
    ledger: Ledger,
    patients: int = 240,
    seed: int = 7,
    start: date = date(2026, 1, 5),
    commands_out: IO[bytes] | None = None,
) -> dict[str, Any]:
    """Run the simulation through the ledger; return the summary."""
    sim = Simulation(start, ledger.settings.timezone, seed)
    stats = _Stats(ledger.settings.database_url)

    def execute(at: datetime, command: dict[str, Any]) -> dict[str, Any]:
        line = orjson.dumps({**command, "at": at.isoformat()})
        if commands_out is not None:
            commands_out.write(line + b"\n")
        result = ledger.execute(line)
        stats.add(command, result)
        return result

    began = time.perf_counter()
    for _ in run_journeys(journeys_for(sim, patients), execute):
        pass
    return stats.summary(time.perf_counter() - began)


class _Stats:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.outcomes: Counter[str] = Counter()
        self.by_command: Counter[str] = Counter()
        self.denied_by_rule: Counter[str] = Counter()
        self.confirmation_denied_by_rule: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()
        self.issued_by_category: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def add(self, command: dict[str, Any], result: dict[str, Any]) -> None:
        name = command["command"]
        code = "ok" if result["ok"] else result["error"]["code"]
        self.outcomes[code] += 1
        self.by_command[name] += 1
        rules = [r["rule"] for r in result.get("error", {}).get("reasons", [])]
        if name == "request_authorization":
            if result["ok"]:
                self.counts["authorizations_issued"] += 1
                self.issued_by_category[result["risk_category"]] += 1
            else:
                self.counts["authorizations_denied"] += 1
                self.denied_by_rule.update(rules)
        elif name == "request_dispense_confirmation":
            key = "confirmations_issued" if result["ok"] else "confirmations_denied"
            self.counts[key] += 1
            self.confirmation_denied_by_rule.update(rules)
        elif name == "record_dispense" and result["ok"]:
            self.counts["dispenses"] += 1
        elif name == "enroll_patient" and result["ok"]:
            self.counts["enrollments"] += 1
            if result["enrollment"] == 1:
                self.categories[result["risk_category"]] += 1
            else:
                self.counts["re_enrollments_after_lapse"] += 1
        elif name == "report_pregnancy":
            self.counts["pregnancies_reported"] += 1

    def summary(self, seconds: float) -> dict[str, Any]:
        total = sum(self.outcomes.values())
        return {
            "commands": total,
            "outcomes": dict(self.outcomes),
            **{
                k: self.counts[k]
                for k in (
                    "enrollments",
                    "re_enrollments_after_lapse",
                    "authorizations_issued",
                    "authorizations_denied",
                    "confirmations_issued",
                    "confirmations_denied",
                    "dispenses",
                    "pregnancies_reported",
                )
            },
            "authorizations_denied_by_rule": dict(self.denied_by_rule.most_common()),
            "confirmations_denied_by_rule": dict(self.confirmation_denied_by_rule.most_common()),
            "patients_by_category": dict(sorted(self.categories.items())),
            "authorizations_by_category": dict(sorted(self.issued_by_category.items())),
            "database_url": self.database_url,
            "seconds": round(seconds, 2),
            "commands_per_second": round(total / seconds, 1) if seconds else None,
        }


def print_summary(summary: dict[str, Any]) -> None:
    """A short readable summary of the simulated program."""
    print(
        f"Simulated {summary['commands']} commands in {summary['seconds']} s "
        f"({summary['commands_per_second']} commands/s)"
    )
    print(f"  outcomes: {summary['outcomes']}")
    print(
        f"  enrollments {summary['enrollments']} "
        f"(re-enrollments after lapse: {summary['re_enrollments_after_lapse']})"
    )
    print(
        f"  authorizations issued {summary['authorizations_issued']}, "
        f"denied {summary['authorizations_denied']}"
    )
    print(
        "  denied by rule: "
        + ", ".join(
            f"{rule} {count}" for rule, count in summary["authorizations_denied_by_rule"].items()
        )
    )
    print(
        f"  confirmations issued {summary['confirmations_issued']}, denied "
        f"{summary['confirmations_denied']} ("
        + ", ".join(f"{r} {c}" for r, c in summary["confirmations_denied_by_rule"].items())
        + ")"
    )
    print(
        f"  dispenses {summary['dispenses']}, pregnancies reported "
        f"{summary['pregnancies_reported']}"
    )
    print("  patients by category:")
    for category, count in summary["patients_by_category"].items():
        print(f"    {category:<42} {count}")
    print(
        f"Explore it: REMS_DATABASE_URL={summary['database_url']} REMS_CLOCK=event "
        "scripts/run history PT-00001   (or eligibility PT-00007, PT-LAPSED, ...)"
    )
