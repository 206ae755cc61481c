"""The dispense confirmation decision (D1, with A2, A4, P2, P3, R3, T7, T8, E6).

Reading (RULES.md): D1 always accompanies a confirmation denial; the authorization must be the
patient's, unexpired, unused and not voided, its prescriber still certified, the patient's
category unchanged since issue (a birthday alone is no change, except a not-yet-menstruating
girl's 18th: R3, second round), the patient not blocked, and the
supply not above the authorization's.
"""

from __future__ import annotations

from domain.base import Frozen
from domain.participants import ParticipantState
from domain.patient_state import Authorization, AuthorizationStatus, PatientState
from domain.reasons import Reason, merge
from domain.rules.context import DecisionTime
from domain.rules.dispensing import (
    expired_reasons,
    patient_block_reasons,
    r3_reasons,
    with_d1,
)
from domain.rules.inputs import ConfirmationInputs
from domain.rules.participants import pharmacy_reasons


class ConfirmationRequest(Frozen):
    """A pharmacy asks to confirm a dispense against an authorization number."""

    pharmacy_id: str
    authorization_number: str
    days_supply: int


class ConfirmationOutcome(Frozen):
    """What the rules concluded: unmet rules (empty = confirm) and what was read."""

    reasons: tuple[Reason, ...]
    inputs: ConfirmationInputs
    authorization: Authorization | None
    """The patient's authorization confirmed against; None when the number is not theirs."""

    @property
    def confirmed(self) -> bool:
        """Every rule holds and the authorization is the patient's."""
        return not self.reasons and self.authorization is not None


def decide_confirmation(
    patient: PatientState,
    request: ConfirmationRequest,
    authorization: Authorization | None,
    pharmacy: ParticipantState | None,
    prescriber: ParticipantState | None,
    at: DecisionTime,
) -> ConfirmationOutcome:
    """Every unmet rule for a dispense confirmation. `authorization` is the patient's
    authorization of that number (None when it is not theirs); `prescriber` is the one who
    obtained it."""
    if authorization is None:
        inputs = ConfirmationInputs(
            patient_version=patient.version,
            pharmacy_version=pharmacy.version if pharmacy else None,
            days_supply=request.days_supply,
            timezone=at.tz.key,
        )
        reasons = foreign_authorization_reasons(patient, request, pharmacy, at)
    else:
        inputs = ConfirmationInputs(
            patient_version=patient.version,
            pharmacy_version=pharmacy.version if pharmacy else None,
            days_supply=request.days_supply,
            timezone=at.tz.key,
            prescriber_version=prescriber.version if prescriber else None,
        )
        reasons = confirmation_reasons(patient, request, authorization, pharmacy, prescriber, at)
    return ConfirmationOutcome(reasons=tuple(reasons), inputs=inputs, authorization=authorization)


def confirmation_reasons(
    patient: PatientState,
    request: ConfirmationRequest,
    authorization: Authorization,
    pharmacy: ParticipantState | None,
    prescriber: ParticipantState | None,
    at: DecisionTime,
) -> list[Reason]:
    """Every unmet rule for confirming against the patient's own authorization."""
    reasons = pharmacy_reasons(pharmacy, request.pharmacy_id)
    if authorization.status is AuthorizationStatus.VOIDED:
        reasons.append(
            Reason(
                rule="A4",
                message=f"Authorization {authorization.number} was voided by a newer "
                "authorization for this patient; use the newest one.",
            )
        )
    elif authorization.status is AuthorizationStatus.CONFIRMED:
        reasons.append(
            Reason(
                rule="A4",
                message=f"Authorization {authorization.number} was already used for a dispense "
                "confirmation; each authorization is used once.",
            )
        )
    reasons += expired_reasons(authorization, at)
    if prescriber is None or not prescriber.certified:
        reasons.append(
            Reason(
                rule="P3",
                message=f"Prescriber {authorization.prescriber_id}, who obtained the "
                "authorization, is no longer certified.",
            )
        )
    reasons += r3_reasons(patient, authorization, at)
    reasons += patient_block_reasons(patient, at)
    if request.days_supply > authorization.days_supply:
        reasons.append(
            Reason(
                rule="D1",
                message=f"{request.days_supply} days supply exceeds the "
                f"{authorization.days_supply} days the authorization allows.",
            )
        )
    return with_d1(
        reasons,
        "The REMS cannot confirm this dispense: the pharmacy, the authorization and the "
        "patient must all be in good standing.",
    )


def foreign_authorization_reasons(
    patient: PatientState,
    request: ConfirmationRequest,
    pharmacy: ParticipantState | None,
    at: DecisionTime,
) -> list[Reason]:
    """D1 for an authorization number that is not this patient's, with every other unmet rule
    that can still be judged (the pharmacy, the patient's blocks)."""
    return merge(
        [
            Reason(
                rule="D1",
                message=f"Authorization {request.authorization_number} is not for patient "
                f"{patient.patient_id}.",
            ),
            *pharmacy_reasons(pharmacy, request.pharmacy_id),
            *patient_block_reasons(patient, at),
        ]
    )
