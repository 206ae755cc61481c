"""The adapters' readings of real FHIR (INTEROP.md §1.1, §2.3, §3.3): which codes are
lenalidomide, an order's dose, supply and repeats as A3 judges them (R4, STU3-shaped and
object-shaped dosage), and which requirements an ETASU answer lists per category."""

from __future__ import annotations

from typing import Any

import pytest

from application.interop_queries import normalise_number
from domain.values import RiskCategory
from entrypoints.interop.products import (
    daily_dose_mg,
    days_supply,
    medication_is_lenalidomide,
    ndc_11,
    refills,
)
from entrypoints.interop.requirements import listed_rules
from tests.interop.support import fixture


@pytest.mark.parametrize(
    ("code", "eleven"),
    [
        ("59572-410-28", "59572041028"),
        ("0245-0571-01", "00245057101"),
        ("5957241028", "5957241028"),
    ],
)
def test_ndcs_compare_in_11_digits_and_bare_10_digit_ones_only_literally(
    code: str, eleven: str
) -> None:
    """Hyphenated 10-digit NDCs pad their short segment (5-4-2); unhyphenated 10 are kept."""
    assert ndc_11(code) == eleven


def test_lenalidomide_by_rxnorm_ndc_and_contained_medication() -> None:
    """RxNorm 342369, a REVLIMID NDC, and a medicationReference to a contained Medication are
    lenalidomide; the prototypes' isotretinoin is not."""
    order = fixture("fhir/lenalidomide/MedicationRequest-pat017-mr-lenalidomide-28d.json")
    assert medication_is_lenalidomide(order)
    assert not medication_is_lenalidomide(
        fixture("fhir/rems-admin/MedicationRequest-pat017-mr-IPledge.json")
    )
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "59572-415-21"}]},
    }
    by_reference: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "contained": [medication],
        "medicationReference": {"reference": "#m1"},
    }
    assert medication_is_lenalidomide(by_reference)
    bundled = {
        **by_reference,
        "contained": [],
        "medicationReference": {"reference": "Medication/m1"},
    }
    assert medication_is_lenalidomide(bundled, [medication])
    assert not medication_is_lenalidomide(bundled)


def test_A3_terms_of_the_prototype_orders() -> None:
    """The 28-day order: 10 mg, 28 days, no repeats; the 90-capsule order: 90 days (from
    quantity / capsules per day), 3 repeats."""
    good = fixture("fhir/lenalidomide/MedicationRequest-pat017-mr-lenalidomide-28d.json")
    assert (daily_dose_mg(good), days_supply(good), refills(good)) == (10.0, (28, False), 0)
    long = fixture("fhir/lenalidomide/MedicationRequest-pat017-mr-lenalidomide.json")
    assert (daily_dose_mg(long), days_supply(long), refills(long)) == (10.0, (90, False), 3)


def test_A3_stu3_shaped_and_object_shaped_dosage_are_read() -> None:
    """`doseQuantity` directly on the dosage (STU3) and `doseAndRate` as an object, as the hook
    library's R4 examples send them, give the dose; no supply at all is judged as 28 days."""
    stu3 = {
        "dosageInstruction": [
            {
                "doseQuantity": {"value": 5, "unit": "mg"},
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            }
        ]
    }
    assert daily_dose_mg(stu3) == 10.0
    shaped = {"dosageInstruction": [{"doseAndRate": {"doseQuantity": {"value": 25, "code": "mg"}}}]}
    assert daily_dose_mg(shaped) == 25.0
    assert days_supply(shaped) == (28, True)
    assert refills(shaped) == 0


def test_RA_and_RC_numbers_are_read_in_crockford_base32() -> None:
    """Lower case, I/L as 1 and O as 0 are read as the ledger writes numbers; others are None."""
    assert normalise_number(" ra-c97o-4dd5-fcme ") == "RA-C970-4DD5-FCME"
    assert normalise_number("RC-ILIL-0000-AAAA") == "RC-1111-0000-AAAA"
    assert normalise_number("a24e73e53b2") is None
    assert normalise_number("RA-12-34") is None


@pytest.mark.parametrize(
    ("category", "initial", "expected"),
    [
        (
            RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL,
            True,
            ["P1", "P5", "E1", "E6", "K1", "S2", "T1", "T2", "T6", "T7", "T8", "C1", "C2", "A3"],
        ),
        (
            RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL,
            False,
            ["P1", "P5", "E1", "E6", "K1", "S3", "T6", "T7", "T8", "C1", "C2", "A3"],
        ),
        (
            RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL,
            True,
            ["P1", "P5", "E1", "E6", "K1", "S2", "T7", "A3"],
        ),
        (RiskCategory.ADULT_MALE, True, ["P1", "P5", "E1", "E6", "K1", "A3"]),
        (RiskCategory.MALE_CHILD, False, ["P1", "P5", "E1", "E6", "K1", "S3", "A3"]),
    ],
)
def test_S2_S3_T1_T2_requirements_listed_by_category_and_stage(
    category: RiskCategory, initial: bool, expected: list[str]
) -> None:
    """The ETASU requirement list follows RULES.md's readings (§3.3 table)."""
    assert listed_rules(category, initial, [], pharmacy=False) == expected


def test_D1_listed_for_a_pharmacy_and_every_reported_rule_kept() -> None:
    """A pharmacy caller gets D1; a rule the ledger reported outside the table (T3) is kept."""
    rules = listed_rules(RiskCategory.ADULT_MALE, True, ["T3", "K1"], pharmacy=True)
    assert rules[-2:] == ["T3", "D1"]
