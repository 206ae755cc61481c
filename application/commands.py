"""The `rems apply` commands (DESIGN.md, "Commands and their fields"): names are the contract.

This module is the table of every command by its `command` name; the models live by meaning in
`participant_commands`, `patient_commands` and `decision_commands`, on the base in
`command_base` (strict at every depth: unknown fields, wrong types and unknown commands are
`invalid`, naming the field).
"""

from __future__ import annotations

from typing import Any

from application.command_base import Command
from application.decision_commands import (
    RecordDispense,
    RequestAuthorization,
    RequestDispenseConfirmation,
)
from application.participant_commands import (
    CertifyPharmacy,
    CertifyPrescriber,
    RegisterPrescriber,
    SuspendPharmacy,
    SuspendPrescriber,
)
from application.patient_commands import (
    ChangePrescriber,
    DiscontinueTherapy,
    EnrollPatient,
    FemaleFields,
    RecordCapsuleReturn,
    RecordCbc,
    RecordContraception,
    RecordCounseling,
    RecordMenstrualAbnormality,
    RecordPatientSurvey,
    RecordPregnancyTest,
    ReportPregnancy,
    ResolvePregnancyReport,
    ReviewPossibleDuplicate,
    UpdateReproductiveStatus,
)

__all__ = [
    "COMMANDS",
    "DECISION_COMMANDS",
    "CertifyPharmacy",
    "CertifyPrescriber",
    "ChangePrescriber",
    "Command",
    "DiscontinueTherapy",
    "EnrollPatient",
    "FemaleFields",
    "RecordCapsuleReturn",
    "RecordCbc",
    "RecordContraception",
    "RecordCounseling",
    "RecordDispense",
    "RecordMenstrualAbnormality",
    "RecordPatientSurvey",
    "RecordPregnancyTest",
    "RegisterPrescriber",
    "ReportPregnancy",
    "RequestAuthorization",
    "RequestDispenseConfirmation",
    "ResolvePregnancyReport",
    "ReviewPossibleDuplicate",
    "SuspendPharmacy",
    "SuspendPrescriber",
    "UpdateReproductiveStatus",
    "dates_of",
]

COMMANDS: dict[str, type[Command]] = {
    model.model_fields["command"].annotation.__args__[0]: model  # type: ignore[union-attr]  # every command model's `command` is a Literal
    for model in (
        RegisterPrescriber,
        CertifyPrescriber,
        SuspendPrescriber,
        CertifyPharmacy,
        SuspendPharmacy,
        EnrollPatient,
        UpdateReproductiveStatus,
        RecordCounseling,
        RecordContraception,
        RecordPregnancyTest,
        RecordPatientSurvey,
        RequestAuthorization,
        RequestDispenseConfirmation,
        RecordDispense,
        ReportPregnancy,
        RecordMenstrualAbnormality,
        DiscontinueTherapy,
        RecordCbc,
        RecordCapsuleReturn,
        ChangePrescriber,
        ResolvePregnancyReport,
        ReviewPossibleDuplicate,
    )
}
"""Every command of the contract, by its `command` name."""

DECISION_COMMANDS = frozenset(
    {
        "enroll_patient",
        "request_authorization",
        "request_dispense_confirmation",
        "record_dispense",
    }
)
"""Commands that are decisions: under the system clock their `at` must be within 5 minutes."""


def dates_of(command: Command) -> dict[str, Any]:
    """Every date or datetime field of the command that must not lie in the future."""
    names = (
        "collected_at",
        "suspected_on",
        "noted_on",
        "last_dose_on",
        "resolved_on",
        "started_on",
        "date_of_birth",
    )
    found = {n: getattr(command, n) for n in names if getattr(command, n, None) is not None}
    for holder in ("guardian", "authorized_representative", "prescriber_letter"):
        part = getattr(command, holder, None)
        if part is not None and getattr(part, "signed_on", None) is not None:
            found[f"{holder}.signed_on"] = part.signed_on
    return found
