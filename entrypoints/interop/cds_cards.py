"""Cards from the ledger's answer (INTEROP.md §2.3, §2.4, §12.3): one card per rule, each naming
its rule ID, what is missing (the ledger's own message) and the guide's text. No suggestions, no
override reasons (REMS block rules are not overridable at the prescriber), no PHI."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from entrypoints.interop.cds_models import Card, Link, Source, Topic
from entrypoints.interop.requirements import rule_text, short_action

CardKind = Literal["unmet", "due", "status"]
GUIDE = "Lenalidomide REMS Prescriber Guide"
ENROLLMENT_DETAIL = (
    "No patient enrolled in the Lenalidomide REMS matches this patient. Submit the "
    "Patient-Physician Agreement Form (E1: signed by the patient and the prescriber, every "
    "statement marked; E2: a legal guardian for a patient under 18; E3: an authorized "
    "representative for an incompetent adult; E4: the reproductive-status facts for a female "
    "patient; E5: name, address, phone, date of birth, diagnosis and language), then record the "
    "REMS patient ID as a Patient.identifier of system {system}."
)
PRESCRIBER_DETAIL = (
    "The ordering practitioner carries no REMS prescriber ID (Practitioner.identifier of "
    "system {system}), or is not enrolled and certified. Only a certified prescriber can "
    "obtain authorization numbers."
)
DUE_WORDS = {
    "pregnancy_test": ("T5", "next pregnancy test due {day}"),
    "patient_survey": ("S3", "next patient survey due {day}"),
    "cbc": ("M1", "next complete blood count due {day}"),
}


@dataclass(frozen=True)
class CardMaker:
    """Builds cards for one hook call."""

    hook_instance: str
    canonical: str
    program_url: str

    def card(
        self,
        rule: str,
        kind: CardKind,
        message: str,
        indicator: Literal["info", "warning", "critical"],
        summary: str | None = None,
    ) -> dict[str, Any]:
        """One card for one rule (uuid5 over hook instance, rule and kind: stable, unique)."""
        detail = f"**{message}**\n\nRule {rule} ({rule_text(rule)}) Source: {GUIDE}."
        card = Card(
            uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.hook_instance}/{rule}/{kind}")),
            summary=f"Lenalidomide REMS {rule}: {summary or short_action(rule)}"[:139],
            detail=detail,
            indicator=indicator,
            source=Source(
                label="Lenalidomide REMS",
                url=self.program_url,
                topic=Topic(
                    system=f"{self.canonical}/CodeSystem/rule", code=rule, display=f"Rule {rule}"
                ),
            ),
            links=[Link(label=GUIDE, url=self.program_url)],
        )
        return card.model_dump(exclude_none=True)

    def unmet(self, reasons: list[dict[str, str]]) -> list[dict[str, Any]]:
        """One warning card per unmet rule (critical only for T7, suspected exposure)."""
        messages: dict[str, list[str]] = {}
        for reason in reasons:
            messages.setdefault(reason["rule"], []).append(reason["message"])
        return [
            self.card(rule, "unmet", " ".join(texts), "critical" if rule == "T7" else "warning")
            for rule, texts in messages.items()
        ]

    def not_enrolled(self, patient_system: str) -> dict[str, Any]:
        """The patient is not identified as an enrolled patient (E1)."""
        return self.card("E1", "unmet", ENROLLMENT_DETAIL.format(system=patient_system), "warning")

    def prescriber_unknown(self, prescriber_system: str) -> dict[str, Any]:
        """The ordering practitioner is not an identified, certified prescriber (P1)."""
        return self.card(
            "P1", "unmet", PRESCRIBER_DETAIL.format(system=prescriber_system), "warning"
        )

    def requirements_met(self, open_number: str | None, expires: str | None) -> dict[str, Any]:
        """All block rules hold: the open authorization (A2), or the survey to obtain one (A1)."""
        if open_number is not None:
            return self.card(
                "A2",
                "status",
                f"Authorization {open_number} is valid until {expires}; write it on the "
                "prescription.",
                "info",
                summary=f"authorization {open_number} is valid",
            )
        return self.card(
            "A1",
            "status",
            "All requirements are met: complete the prescriber survey to obtain the "
            "authorization number, and write it on the prescription.",
            "info",
        )

    def due(
        self, next_due: dict[str, str | None], today: date, weekly: bool
    ) -> list[dict[str, Any]]:
        """patient-view: one info card per item with a due date (T4/T5, S3, M1)."""
        cards = []
        for key, (rule, words) in DUE_WORDS.items():
            day = next_due.get(key)
            if not day:
                continue
            rule = "T4" if key == "pregnancy_test" and weekly else rule
            overdue = date.fromisoformat(day) <= today
            text = words.format(day=day) + (" (due now)" if overdue else "")
            cards.append(self.card(rule, "due", text[0].upper() + text[1:] + ".", "info", text))
        return cards
