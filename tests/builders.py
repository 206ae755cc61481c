"""The one builder of enrollment forms for every tier (the form's fields as the contract names
them): an adult, competent patient with a signed, fully marked form; regular menses if female.
Programs are built by `tests.program.Program` (through the ledger) and, in the domain tier, by
`tests.domain.states.History` (in memory)."""

from __future__ import annotations

from typing import Any

AUTH_REQUEST: dict[str, Any] = {
    "patient_id": "PAT1",
    "prescriber_id": "DR1",
    "daily_dose_mg": 10,
    "days_supply": 28,
    "refills": 0,
    "channel": "electronic",
}
"""A complete `request_authorization` of PAT1 by DR1 (28 days, electronic), less its command:
the prescriber's survey answers (S1) are these fields."""


def enrollment_form(
    patient_id: str = "PAT1", prescriber_id: str = "DR1", sex: str = "female", **overrides: Any
) -> dict[str, Any]:
    """An `enroll_patient` body; `overrides` replace fields (None removes one)."""
    form: dict[str, Any] = {
        "patient_id": patient_id,
        "prescriber_id": prescriber_id,
        "name": f"Pat Test {patient_id}",
        "address": "3 Elm St",
        "phone": "555-0199",
        "date_of_birth": "1990-05-01",
        "sex": sex,
        "diagnosis_icd10": "C90.00",
        "language": "english",
        "patient_signed": True,
        "prescriber_signed": True,
        "all_statements_marked": True,
    }
    if sex == "female":
        form["menstruation"] = "regular"
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}
