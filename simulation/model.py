"""A seeded simulation of a realistic program: patient journeys as generators of commands.

Each journey yields `(at, command)` and receives the command's result, so it can react the way
a prescriber or pharmacy would (take the missing survey and ask again). The scheduler runs all
journeys in one time order through the ledger's ordinary command path.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.values import CounselingTopic

Step = tuple[datetime, dict[str, Any]]
Journey = Generator[Step, dict[str, Any], None]

TOPICS = [topic.value for topic in CounselingTopic]

PROFILES: dict[str, tuple[str, int, dict[str, Any]]] = {
    "adult_female_reproductive_potential": ("female", 34, {"menstruation": "regular"}),
    "adult_female_not_reproductive_potential": (
        "female",
        63,
        {"menstruation": "menopause", "natural_menopause_months": 60},
    ),
    "female_child_reproductive_potential": ("female", 15, {"menstruation": "irregular"}),
    "female_child_not_reproductive_potential": ("female", 10, {"menstruation": "not_started"}),
    "adult_male": ("male", 58, {}),
    "male_child": ("male", 16, {}),
}


class Simulation:
    """The program's participants, its clock zone and the random source of imperfections."""

    def __init__(self, start: date, tz: ZoneInfo, seed: int, prescribers: int = 8) -> None:
        self.start = start
        self.tz = tz
        self.rng = random.Random(seed)
        self.prescribers = [f"DR{i:03d}" for i in range(1, prescribers + 1)]
        self.pharmacies = ["PH01", "PH02", "PH03", "PH04"]

    def moment(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A wall-clock time in the program's zone."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def setup(self) -> Journey:
        """Prescribers registered and certified, pharmacies certified; one suspension later."""
        at = self.moment(self.start - timedelta(days=400), 8)
        for prescriber in self.prescribers:
            yield (
                at,
                {
                    "command": "register_prescriber",
                    "prescriber_id": prescriber,
                    "name": f"Dr {prescriber}",
                    "address": "1 Clinic Way",
                    "fax": "555-0100",
                },
            )
            yield at, {"command": "certify_prescriber", "prescriber_id": prescriber}
        for pharmacy in self.pharmacies:
            yield (
                at,
                {
                    "command": "certify_pharmacy",
                    "pharmacy_id": pharmacy,
                    "name": f"Pharmacy {pharmacy}",
                    "address": "2 Main St",
                },
            )
        suspended = self.moment(self.start + timedelta(days=70), 7)
        yield (
            suspended,
            {"command": "suspend_pharmacy", "pharmacy_id": "PH04", "reason": "inspection finding"},
        )
        yield (
            suspended + timedelta(days=14),
            {
                "command": "certify_pharmacy",
                "pharmacy_id": "PH04",
                "name": "Pharmacy PH04",
                "address": "2 Main St",
            },
        )


def run_journeys(
    journeys: list[Journey], execute: Callable[[datetime, dict[str, Any]], dict[str, Any]]
) -> Iterator[tuple[datetime, dict[str, Any], dict[str, Any]]]:
    """Run every journey in global time order; yield each (at, command, result)."""
    queue: list[tuple[datetime, int, int, dict[str, Any]]] = []
    sequence = 0
    for index, journey in enumerate(journeys):
        step = next(journey, None)
        if step is not None:
            heapq.heappush(queue, (step[0], sequence, index, step[1]))
            sequence += 1
    while queue:
        at, _, index, command = heapq.heappop(queue)
        result = execute(at, command)
        yield at, command, result
        try:
            step = journeys[index].send(result)
        except StopIteration:
            continue
        heapq.heappush(queue, (max(step[0], at), sequence, index, step[1]))
        sequence += 1
