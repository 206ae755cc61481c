"""D1: a certified pharmacy obtains a confirmation number before dispensing, re-checked at
the dispense (the specific rules behind a D1 denial are tested in their own modules too)."""

from __future__ import annotations

import pytest

from tests.application.helpers_rules import (
    assert_denial_recorded,
    assert_denied,
    assert_error,
    event_types,
    number,
)
from tests.program import Program


def two_males(program: Program) -> str:
    """PAT1 and PAT2 ready; an authorization for PAT1 (its number)."""
    program.ready_male("PAT1")
    program.ready_male("PAT2")
    return number(program.authorize("PAT1"))


def test_D1_allows_a_valid_authorization_and_returns_the_confirmation(program: Program) -> None:
    """A certified pharmacy confirms a valid, unused authorization for its patient."""
    program.ready_male()
    auth = number(program.authorize())
    result = program.confirm(auth)
    assert result["ok"], result
    assert result["confirmation_number"]
    assert result["authorization_number"] == auth
    assert result["risk_category"] == "adult_male"
    assert result["days_supply"] == 28
    assert "DispenseConfirmed" in event_types(program)


def test_D1_denies_an_authorization_of_another_patient(program: Program) -> None:
    """PAT1's authorization cannot be confirmed for PAT2: D1, recorded on PAT2."""
    auth = two_males(program)
    assert_denied(program.confirm(auth, patient_id="PAT2"), "D1")
    assert_denial_recorded(program, "DispenseDenied", "D1", patient_id="PAT2")
    assert program.confirm(auth, patient_id="PAT1")["ok"]


def test_D1_denies_another_patients_authorization_to_an_unknown_pharmacy_listing_P2(
    program: Program,
) -> None:
    """An unknown pharmacy asking with another patient's authorization is denied D1 and P2."""
    auth = two_males(program)
    assert_denied(program.confirm(auth, patient_id="PAT2", pharmacy_id="PH9"), "D1", "P2")


def test_D1_an_unknown_authorization_number_is_not_found_and_records_nothing(
    program: Program,
) -> None:
    """An authorization number that was never issued is not_found, not a recorded denial."""
    program.ready_male()
    before = event_types(program)
    result = program.confirm("RA-0000-0000-0000")
    assert_error(result, "not_found")
    assert result["error"]["reasons"] == []
    assert event_types(program) == before


def test_D1_an_unknown_patient_is_not_found(program: Program) -> None:
    """A confirmation for a patient never enrolled is not_found."""
    program.ready_male()
    auth = number(program.authorize())
    assert_error(program.confirm(auth, patient_id="NOBODY"), "not_found")


@pytest.mark.parametrize("days", [14, 28])
def test_D1_allows_a_supply_up_to_the_authorizations(program: Program, days: int) -> None:
    """The pharmacy may confirm the authorized supply or less."""
    program.ready_male()
    assert program.confirm(number(program.authorize()), days_supply=days)["ok"]


def test_D1_denies_a_supply_above_the_authorizations(program: Program) -> None:
    """Confirming 28 days against a 21-day authorization is denied D1."""
    program.ready_male()
    auth = number(program.authorize(days_supply=21))
    assert_denied(program.confirm(auth, days_supply=28), "D1")


def test_D1_denies_a_dispense_by_another_certified_pharmacy(program: Program) -> None:
    """A confirmation belongs to the pharmacy that obtained it."""
    program.pharmacy("PH2")
    program.ready_male()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    assert_denied(program.dispense(confirmation, pharmacy_id="PH2"), "D1")
    assert_denial_recorded(program, "DispenseDenied", "D1")
    assert program.dispense(confirmation)["ok"]


def test_D1_records_the_dispense_with_the_tracked_duties(program: Program) -> None:
    """A dispense without the Medication Guide or counseling is recorded, tracking D2 and D3."""
    program.ready_male()
    confirmation = number(program.confirm(number(program.authorize())), "confirmation_number")
    result = program.dispense(confirmation, medication_guide_provided=False, counseled=False)
    assert result["ok"], result
    assert [t["rule"] for t in result["tracked"]] == ["D2", "D3"]


def test_D1_an_unknown_confirmation_number_is_not_found(program: Program) -> None:
    """A dispense against a confirmation never issued is not_found."""
    assert_error(program.dispense("RC-0000-0000-0000"), "not_found")


def test_D1_a_confirmation_denial_lists_every_unmet_rule_at_once(program: Program) -> None:
    """A voided, expired authorization asked by a suspended pharmacy for a patient with a
    positive test: D1, P2, P3, A4, A2 and T7 together, each once."""
    program.ready_frp()
    first = number(program.authorize())
    program.advance(minutes=1)
    assert program.authorize()["ok"]
    program.test(result="positive")
    program.ok("suspend_pharmacy", pharmacy_id="PH1", reason="inspection")
    program.at("2026-03-21 00:00:00")
    result = program.confirm(first)
    assert_denied(result, "D1", "P2", "P3", "A4", "A2", "T7")
    assert_denial_recorded(program, "DispenseDenied", "D1", "P2", "P3", "A4", "A2", "T7")
