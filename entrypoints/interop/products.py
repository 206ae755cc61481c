"""Is this lenalidomide? (INTEROP.md §1.1) The product table and the order terms of a FHIR
MedicationRequest, read leniently (clients send STU3-shaped dosage and bundles without `type`).

The table holds what is sourced: the RxNorm ingredient 342369 (confirm on RxNav before
production) and the REVLIMID NDCs of the label's §16. SCD/SBD codes and the generics' NDCs are
loaded by an operator; the server never calls out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
LENALIDOMIDE_RXNORM = frozenset({"342369"})
REVLIMID_NDC_10 = (
    "59572-405-28",
    "59572-410-28",
    "59572-415-21",
    "59572-405-00",
    "59572-410-00",
    "59572-415-00",
)
DEFAULT_DAYS_SUPPLY = 28
"""§11: an order with neither expectedSupplyDuration nor quantity + dose is judged as 28 days."""


def ndc_11(code: str) -> str:
    """An NDC in 11 digits (5-4-2). A hyphenated 10-digit form is padded in its short segment;
    an unhyphenated 10-digit code is ambiguous and kept as it is (matched only literally)."""
    parts = code.strip().split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return parts[0].zfill(5) + parts[1].zfill(4) + parts[2].zfill(2)
    return code.strip()


LENALIDOMIDE_NDC = frozenset(ndc_11(c) for c in REVLIMID_NDC_10)


def is_lenalidomide_coding(system: Any, code: Any) -> bool:
    """One coding in the product table."""
    if not isinstance(code, str):
        return False
    if system == RXNORM:
        return code.strip() in LENALIDOMIDE_RXNORM
    if system == NDC:
        return ndc_11(code) in LENALIDOMIDE_NDC
    return False


def is_lenalidomide_ndc(code: Any) -> bool:
    """An NDC as SCRIPT carries it (`ProductCode/Code`, qualifier ND)."""
    return isinstance(code, str) and ndc_11(code) in LENALIDOMIDE_NDC


def codes_lenalidomide(concept: Any) -> bool:
    """A CodeableConcept with at least one lenalidomide coding."""
    if not isinstance(concept, Mapping):
        return False
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return False
    return any(
        isinstance(c, Mapping) and is_lenalidomide_coding(c.get("system"), c.get("code"))
        for c in codings
    )


def medication_is_lenalidomide(
    resource: Mapping[str, Any], others: Iterable[Mapping[str, Any]] = ()
) -> bool:
    """A Medication, or a MedicationRequest whose medication is lenalidomide — by its
    CodeableConcept or by `medicationReference` to a contained or bundled Medication."""
    kind = resource.get("resourceType")
    if kind == "Medication":
        return codes_lenalidomide(resource.get("code"))
    if kind != "MedicationRequest":
        return False
    if codes_lenalidomide(resource.get("medicationCodeableConcept")):
        return True
    reference = resource.get("medicationReference")
    target = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(target, str):
        return False
    contained = resource.get("contained")
    candidates = [*(contained if isinstance(contained, list) else []), *others]
    for medication in candidates:
        if not isinstance(medication, Mapping) or medication.get("resourceType") != "Medication":
            continue
        names = {f"#{medication.get('id')}", f"Medication/{medication.get('id')}"}
        if target in names or target.endswith(f"/Medication/{medication.get('id')}"):
            return codes_lenalidomide(medication.get("code"))
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def daily_dose_mg(order: Mapping[str, Any]) -> float | None:
    """`dosageInstruction[0].doseAndRate[0].doseQuantity` in mg, times the daily frequency.
    STU3's `doseQuantity` directly on the dosage and `doseAndRate` as an object are accepted."""
    dosages = order.get("dosageInstruction")
    if not isinstance(dosages, list) or not dosages or not isinstance(dosages[0], Mapping):
        return None
    dosage = dosages[0]
    rate = dosage.get("doseAndRate")
    if isinstance(rate, list):
        rate = rate[0] if rate else None
    quantity = rate.get("doseQuantity") if isinstance(rate, Mapping) else None
    if quantity is None:
        quantity = dosage.get("doseQuantity")
    if not isinstance(quantity, Mapping) or quantity.get("code", quantity.get("unit")) != "mg":
        return None
    dose = _number(quantity.get("value"))
    if dose is None:
        return None
    return dose * _per_day(dosage)


def _per_day(dosage: Mapping[str, Any]) -> float:
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    if not isinstance(repeat, Mapping):
        return 1.0
    frequency = _number(repeat.get("frequency")) or 1.0
    period = _number(repeat.get("period")) or 1.0
    unit_days = {"h": 1 / 24, "d": 1.0, "wk": 7.0}.get(str(repeat.get("periodUnit", "d")))
    if unit_days is None:
        return 1.0
    return frequency / (period * unit_days)


def days_supply(order: Mapping[str, Any]) -> tuple[int, bool]:
    """Days supply from `expectedSupplyDuration` (d), else quantity / capsules per day; and
    whether it was inferred as the 28-day default (§11)."""
    dispense = order.get("dispenseRequest")
    dispense = dispense if isinstance(dispense, Mapping) else {}
    duration = dispense.get("expectedSupplyDuration")
    if isinstance(duration, Mapping) and duration.get("code", duration.get("unit")) in (
        "d",
        "day",
        "days",
    ):
        value = _number(duration.get("value"))
        if value is not None:
            return math.ceil(value), False
    quantity = dispense.get("quantity")
    count = _number(quantity.get("value")) if isinstance(quantity, Mapping) else None
    dosages = order.get("dosageInstruction")
    if count is not None and isinstance(dosages, list) and dosages:
        first = dosages[0]
        per_day = _per_day(first) if isinstance(first, Mapping) else 1.0
        if per_day > 0:
            return math.ceil(count / per_day), False
    return DEFAULT_DAYS_SUPPLY, True


def refills(order: Mapping[str, Any]) -> int:
    """`dispenseRequest.numberOfRepeatsAllowed`; absent = 0."""
    dispense = order.get("dispenseRequest")
    value = dispense.get("numberOfRepeatsAllowed") if isinstance(dispense, Mapping) else None
    number = _number(value)
    return int(number) if number is not None else 0
