"""Command handlers: each turns one command into the events it decides to append."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application.handlers import decisions, duplicates, enrollment, facts, participants
from application.unit import Outcome, Unit

Handler = Callable[[Unit, Any], Outcome]

HANDLERS: dict[str, Handler] = {
    "register_prescriber": participants.register_prescriber,
    "certify_prescriber": participants.certify_prescriber,
    "suspend_prescriber": participants.suspend_prescriber,
    "certify_pharmacy": participants.certify_pharmacy,
    "suspend_pharmacy": participants.suspend_pharmacy,
    "enroll_patient": enrollment.enroll_patient,
    "update_reproductive_status": enrollment.update_reproductive_status,
    "change_prescriber": enrollment.change_prescriber,
    "record_counseling": facts.record_counseling,
    "record_contraception": facts.record_contraception,
    "record_pregnancy_test": facts.record_pregnancy_test,
    "record_patient_survey": facts.record_patient_survey,
    "report_pregnancy": facts.report_pregnancy,
    "resolve_pregnancy_report": facts.resolve_pregnancy_report,
    "record_menstrual_abnormality": facts.record_menstrual_abnormality,
    "discontinue_therapy": facts.discontinue_therapy,
    "record_cbc": facts.record_cbc,
    "record_capsule_return": facts.record_capsule_return,
    "request_authorization": decisions.request_authorization,
    "request_dispense_confirmation": decisions.request_dispense_confirmation,
    "record_dispense": decisions.record_dispense,
    "review_possible_duplicate": duplicates.review_possible_duplicate,
}
"""Every command of the contract and the function that handles it."""
