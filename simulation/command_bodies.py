"""The command bodies the demo's journeys send most often, with the program's usual terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def pregnancy_test_body(
    patient_id: str, collected: datetime, positive: bool = False
) -> dict[str, Any]:
    """A pregnancy test at 25 mIU/mL, negative unless `positive`."""
    return {
        "command": "record_pregnancy_test",
        "patient_id": patient_id,
        "collected_at": collected.isoformat(),
        "result": "positive" if positive else "negative",
        "sensitivity_miu_per_ml": 25,
    }


def survey_body(patient_id: str) -> dict[str, Any]:
    """A compliant patient survey."""
    return {"command": "record_patient_survey", "patient_id": patient_id, "compliant": True}


def authorization_body(
    patient_id: str, prescriber: str, channel: str = "electronic"
) -> dict[str, Any]:
    """A request for 28 days, no refills, 10 mg daily."""
    return {
        "command": "request_authorization",
        "patient_id": patient_id,
        "prescriber_id": prescriber,
        "daily_dose_mg": 10,
        "days_supply": 28,
        "refills": 0,
        "channel": channel,
    }


def confirmation_body(pharmacy: str, patient_id: str, number: str) -> dict[str, Any]:
    """A pharmacy's request to confirm 28 days against an authorization number."""
    return {
        "command": "request_dispense_confirmation",
        "pharmacy_id": pharmacy,
        "patient_id": patient_id,
        "authorization_number": number,
        "days_supply": 28,
    }
