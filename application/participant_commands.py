"""The commands on prescribers and pharmacies: registration, certification, suspension (P1-P3)."""

from __future__ import annotations

from typing import Literal

from application.command_base import Command
from application.form_parts import Text
from application.id_fields import ProgramId


class RegisterPrescriber(Command):
    command: Literal["register_prescriber"]
    prescriber_id: ProgramId
    name: Text
    address: Text
    fax: Text


class CertifyPrescriber(Command):
    command: Literal["certify_prescriber"]
    prescriber_id: ProgramId


class SuspendPrescriber(Command):
    command: Literal["suspend_prescriber"]
    prescriber_id: ProgramId
    reason: Text


class CertifyPharmacy(Command):
    command: Literal["certify_pharmacy"]
    pharmacy_id: ProgramId
    name: Text
    address: Text


class SuspendPharmacy(Command):
    command: Literal["suspend_pharmacy"]
    pharmacy_id: ProgramId
    reason: Text
