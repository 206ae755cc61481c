"""A4: setting one authorization's or confirmation's status by its number (issue 13: found
without a Python loop over the history) gives exactly what changing every record of that
number, one by one, gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st

from domain.decision_events import _with_status
from domain.patient_state import (
    Authorization,
    AuthorizationStatus,
    Confirmation,
    ConfirmationStatus,
)
from domain.values import RiskCategory

ISSUED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _authorization(number: str) -> Authorization:
    return Authorization(
        number=number,
        prescriber_id="DR-1",
        issued_at=ISSUED,
        expires_at=ISSUED,
        risk_category=RiskCategory.ADULT_MALE,
        days_supply=28,
        initial=True,
        enrollment=1,
    )


def _confirmation(number: str) -> Confirmation:
    return Confirmation(
        number=number,
        authorization_number="RA-1",
        pharmacy_id="PH-1",
        confirmed_at=ISSUED,
        days_supply=28,
    )


T = TypeVar("T", Authorization, Confirmation)


def _one_by_one(
    records: tuple[T, ...], number: str, status: AuthorizationStatus | ConfirmationStatus
) -> tuple[T, ...]:
    return tuple(
        r.model_copy(update={"status": status}) if r.number == number else r for r in records
    )


NUMBERS = st.lists(st.sampled_from(["RA-1", "RA-2", "RA-3", "RA-4"]), max_size=8)


@given(numbers=NUMBERS, number=st.sampled_from(["RA-1", "RA-2", "RA-9"]))
def test_A4_voiding_by_number_equals_voiding_each_record_of_that_number(
    numbers: list[str], number: str
) -> None:
    """Whether the number is held once, several times or not at all, the records and their
    statuses come out equal, in the same order."""
    records = tuple(_authorization(n) for n in numbers)
    got = _with_status(records, number, AuthorizationStatus.VOIDED)
    assert got == _one_by_one(records, number, AuthorizationStatus.VOIDED)
    assert [r.model_dump_json() for r in got] == [
        r.model_dump_json() for r in _one_by_one(records, number, AuthorizationStatus.VOIDED)
    ]


@given(numbers=NUMBERS, number=st.sampled_from(["RA-2", "RA-9"]))
def test_A4_a_dispensed_confirmation_by_number_equals_changing_each_record_of_that_number(
    numbers: list[str], number: str
) -> None:
    """The same for confirmations (dispensed, D1)."""
    records = tuple(_confirmation(n) for n in numbers)
    got = _with_status(records, number, ConfirmationStatus.DISPENSED)
    assert got == _one_by_one(records, number, ConfirmationStatus.DISPENSED)
