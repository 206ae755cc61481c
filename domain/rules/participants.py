"""P1, P2, P3: only certified participants act; a suspension counts from its moment."""

from __future__ import annotations

from domain.participants import ParticipantState
from domain.reasons import Reason


def prescriber_reasons(prescriber: ParticipantState | None, prescriber_id: str) -> list[Reason]:
    """P1 (and P3 when suspended) for a prescriber who may not act now."""
    if prescriber is None:
        return [
            Reason(
                rule="P1",
                message=f"Prescriber {prescriber_id} is not enrolled in the REMS; the prescriber "
                "must enroll and be certified first.",
            )
        ]
    if prescriber.suspended_reason is not None:
        return [
            Reason(rule="P1", message=f"Prescriber {prescriber_id} is not certified."),
            Reason(
                rule="P3",
                message=f"Prescriber {prescriber_id}'s certification is suspended "
                f"({prescriber.suspended_reason}); it must be re-certified.",
            ),
        ]
    if not prescriber.certified:
        return [
            Reason(
                rule="P1",
                message=f"Prescriber {prescriber_id} is enrolled but not certified; certify the "
                "prescriber first.",
            )
        ]
    return []


def pharmacy_reasons(pharmacy: ParticipantState | None, pharmacy_id: str) -> list[Reason]:
    """P2 (and P3 when suspended) for a pharmacy that may not confirm or dispense now."""
    if pharmacy is None:
        return [
            Reason(
                rule="P2",
                message=f"Pharmacy {pharmacy_id} is not certified in the REMS; only a certified "
                "pharmacy can obtain confirmation numbers and dispense.",
            )
        ]
    if pharmacy.suspended_reason is not None:
        return [
            Reason(rule="P2", message=f"Pharmacy {pharmacy_id} is not certified."),
            Reason(
                rule="P3",
                message=f"Pharmacy {pharmacy_id}'s certification is suspended "
                f"({pharmacy.suspended_reason}); it must be re-certified.",
            ),
        ]
    return []
