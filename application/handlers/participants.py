"""Prescribers and pharmacies: registration, certification, suspension (P1-P4)."""

from __future__ import annotations

from application.commands import (
    CertifyPharmacy,
    CertifyPrescriber,
    RegisterPrescriber,
    SuspendPharmacy,
    SuspendPrescriber,
)
from application.errors import Duplicate, NotFound
from application.unit import Outcome, Unit
from domain.chain import NewAggregate
from domain.participants import (
    PharmacyCertified,
    PharmacyRecertified,
    PharmacySuspended,
    PrescriberCertified,
    PrescriberRegistered,
    PrescriberSuspended,
)
from domain.registry import aggregate_id


def register_prescriber(unit: Unit, cmd: RegisterPrescriber) -> Outcome:
    """Enroll a prescriber (P4); registering one twice is a duplicate."""
    if unit.prescriber(cmd.prescriber_id) is not None:
        msg = f"Prescriber {cmd.prescriber_id} is already registered."
        raise Duplicate(msg, original={"ok": True, "prescriber_id": cmd.prescriber_id})
    unit.record(
        PrescriberRegistered,
        NewAggregate(aggregate_id("prescriber", cmd.prescriber_id)),
        prescriber_id=cmd.prescriber_id,
        name=cmd.name,
        address=cmd.address,
        fax=cmd.fax,
    )
    return Outcome({"prescriber_id": cmd.prescriber_id})


def certify_prescriber(unit: Unit, cmd: CertifyPrescriber) -> Outcome:
    """Certify (or re-certify after a suspension); already certified records nothing."""
    prescriber = unit.prescriber(cmd.prescriber_id)
    if prescriber is None:
        msg = f"Prescriber {cmd.prescriber_id} is not registered; register_prescriber first."
        raise NotFound(msg)
    if not prescriber.certified:
        unit.record(PrescriberCertified, prescriber)
    return Outcome(
        {
            "prescriber_id": cmd.prescriber_id,
            "certified": True,
            "recorded": not prescriber.certified,
        }
    )


def suspend_prescriber(unit: Unit, cmd: SuspendPrescriber) -> Outcome:
    """Suspend a prescriber's certification (P3)."""
    prescriber = unit.prescriber(cmd.prescriber_id)
    if prescriber is None:
        msg = f"Prescriber {cmd.prescriber_id} is not registered."
        raise NotFound(msg)
    unit.record(PrescriberSuspended, prescriber, reason=cmd.reason)
    return Outcome({"prescriber_id": cmd.prescriber_id, "certified": False})


def certify_pharmacy(unit: Unit, cmd: CertifyPharmacy) -> Outcome:
    """Certify a pharmacy (P2), or re-certify it after a suspension."""
    pharmacy = unit.pharmacy(cmd.pharmacy_id)
    recorded = pharmacy is None or not pharmacy.certified
    if pharmacy is None:
        unit.record(
            PharmacyCertified,
            NewAggregate(aggregate_id("pharmacy", cmd.pharmacy_id)),
            pharmacy_id=cmd.pharmacy_id,
            name=cmd.name,
            address=cmd.address,
        )
    elif not pharmacy.certified:
        unit.record(PharmacyRecertified, pharmacy)
    return Outcome({"pharmacy_id": cmd.pharmacy_id, "certified": True, "recorded": recorded})


def suspend_pharmacy(unit: Unit, cmd: SuspendPharmacy) -> Outcome:
    """Suspend a pharmacy's certification (P3)."""
    pharmacy = unit.pharmacy(cmd.pharmacy_id)
    if pharmacy is None:
        msg = f"Pharmacy {cmd.pharmacy_id} is not certified in the REMS."
        raise NotFound(msg)
    unit.record(PharmacySuspended, pharmacy, reason=cmd.reason)
    return Outcome({"pharmacy_id": cmd.pharmacy_id, "certified": False})
