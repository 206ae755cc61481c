"""Decisions are events too: authorizations and dispense confirmations, issued or denied.

Each decision records the rule-set version, the inputs it used and the reasons, so it can be
re-run later from the history alone.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, TypeVar

from pydantic import AwareDatetime

from domain.patient_fold import PatientEvent
from domain.patient_state import (
    Authorization,
    AuthorizationStatus,
    Confirmation,
    ConfirmationStatus,
    Dispense,
    PatientState,
)
from domain.reasons import Reason
from domain.values import Channel, RiskCategory


class Decision(PatientEvent):
    """A decision the ledger took, with what it looked at."""

    ruleset_version: str
    inputs: dict[str, Any]
    """What the rules read: participant versions, the tests, surveys and regimen relied on."""


class AuthorizationIssued(Decision):
    """An authorization number was issued to the prescriber of record (A1)."""

    authorization_number: str
    prescriber_id: str
    risk_category: RiskCategory
    daily_dose_mg: float
    days_supply: int
    refills: int
    channel: Channel
    expires_at: AwareDatetime
    initial: bool

    def fold(self, state: PatientState) -> PatientState:
        issued = Authorization(
            number=self.authorization_number,
            prescriber_id=self.prescriber_id,
            issued_at=self.occurred_at,
            expires_at=self.expires_at,
            risk_category=self.risk_category,
            days_supply=self.days_supply,
            initial=self.initial,
            enrollment=state.enrollment.number,
        )
        return state.model_copy(update={"authorizations": (*state.authorizations, issued)})


class AuthorizationDenied(Decision):
    """An authorization request was refused; `reasons` lists every unmet rule (A1)."""

    prescriber_id: str
    daily_dose_mg: float
    days_supply: int
    refills: int
    channel: Channel
    risk_category: RiskCategory
    reasons: tuple[Reason, ...]


class AuthorizationVoided(PatientEvent):
    """An unused authorization was voided by a newer one (A4: one open supply)."""

    authorization_number: str
    superseded_by: str

    def fold(self, state: PatientState) -> PatientState:
        return _set_authorization(state, self.authorization_number, AuthorizationStatus.VOIDED)


class DispenseConfirmed(Decision):
    """A certified pharmacy got a confirmation number; it consumes the authorization (A4, D1)."""

    confirmation_number: str
    authorization_number: str
    pharmacy_id: str
    days_supply: int

    def fold(self, state: PatientState) -> PatientState:
        confirmation = Confirmation(
            number=self.confirmation_number,
            authorization_number=self.authorization_number,
            pharmacy_id=self.pharmacy_id,
            confirmed_at=self.occurred_at,
            days_supply=self.days_supply,
        )
        state = _set_authorization(state, self.authorization_number, AuthorizationStatus.CONFIRMED)
        return state.model_copy(update={"confirmations": (*state.confirmations, confirmation)})


class DispenseDenied(Decision):
    """A confirmation request or a dispense was refused (D1 and the specific rules)."""

    stage: str
    """`confirmation` (request_dispense_confirmation) or `dispense` (record_dispense)."""
    pharmacy_id: str
    authorization_number: str | None = None
    confirmation_number: str | None = None
    reasons: tuple[Reason, ...]


class ConfirmationVoided(PatientEvent):
    """A confirmation not yet dispensed was voided by a newer authorization (A4)."""

    confirmation_number: str
    superseded_by: str

    def fold(self, state: PatientState) -> PatientState:
        return _set_confirmation(state, self.confirmation_number, ConfirmationStatus.VOIDED)


class DispenseRecorded(Decision):
    """The pharmacy dispensed against a confirmation (therapy start, E6 clock; D2, D3)."""

    confirmation_number: str
    authorization_number: str
    pharmacy_id: str
    capsules: int
    medication_guide_provided: bool
    counseled: bool

    def fold(self, state: PatientState) -> PatientState:
        dispense = Dispense(
            confirmation_number=self.confirmation_number,
            pharmacy_id=self.pharmacy_id,
            dispensed_at=self.occurred_at,
            capsules=self.capsules,
            enrollment=state.enrollment.number,
            medication_guide_provided=self.medication_guide_provided,
            counseled=self.counseled,
        )
        state = _set_confirmation(state, self.confirmation_number, ConfirmationStatus.DISPENSED)
        return state.model_copy(update={"dispenses": (*state.dispenses, dispense)})


def _set_authorization(
    state: PatientState, number: str, status: AuthorizationStatus
) -> PatientState:
    authorizations = _with_status(state.authorizations, number, status)
    return state.model_copy(update={"authorizations": authorizations})


def _set_confirmation(state: PatientState, number: str, status: ConfirmationStatus) -> PatientState:
    confirmations = _with_status(state.confirmations, number, status)
    return state.model_copy(update={"confirmations": confirmations})


_NumberedT = TypeVar("_NumberedT", Authorization, Confirmation)
_number = attrgetter("number")


def _with_status(
    records: tuple[_NumberedT, ...], number: str, status: AuthorizationStatus | ConfirmationStatus
) -> tuple[_NumberedT, ...]:
    """The records with every one of that number given the status. A patient's history holds
    one record per number, found without a Python loop over the history (issue 13: every
    decision of a rebuild or replay changes one record among all the patient's)."""
    numbers = list(map(_number, records))
    if numbers.count(number) != 1:
        return tuple(
            r.model_copy(update={"status": status}) if r.number == number else r for r in records
        )
    changed = list(records)
    at = numbers.index(number)
    changed[at] = records[at].model_copy(update={"status": status})
    return tuple(changed)
