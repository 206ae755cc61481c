"""P1, P2, P3: only certified participants act; a suspension counts from its moment."""

from __future__ import annotations

from domain.participants import ParticipantState
from domain.reasons import Reason


def _certification_reasons(
    state: ParticipantState | None, label: str, rule: str, unknown: str
) -> list[Reason]:
    if state is None:
        return [Reason(rule=rule, message=unknown)]
    if state.suspended_reason is not None:
        return [
            Reason(rule=rule, message=f"{label} is not certified."),
            Reason(
                rule="P3",
                message=f"{label}'s certification is suspended ({state.suspended_reason}); it "
                "must be re-certified.",
            ),
        ]
    if not state.certified:
        return [Reason(rule=rule, message=f"{label} is enrolled but not certified; certify first.")]
    return []


def prescriber_reasons(prescriber: ParticipantState | None, prescriber_id: str) -> list[Reason]:
    """P1 (and P3 when suspended) for a prescriber who may not act now."""
    return _certification_reasons(
        prescriber,
        f"Prescriber {prescriber_id}",
        "P1",
        f"Prescriber {prescriber_id} is not enrolled in the REMS; the prescriber must enroll and "
        "be certified first.",
    )


def pharmacy_reasons(pharmacy: ParticipantState | None, pharmacy_id: str) -> list[Reason]:
    """P2 (and P3 when suspended) for a pharmacy that may not confirm or dispense now."""
    return _certification_reasons(
        pharmacy,
        f"Pharmacy {pharmacy_id}",
        "P2",
        f"Pharmacy {pharmacy_id} is not certified in the REMS; only a certified pharmacy can "
        "obtain confirmation numbers and dispense.",
    )
