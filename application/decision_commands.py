"""The commands that are decisions: authorization (A1-A4), dispense confirmation (D1) and the
dispense itself. Each is judged by the rule engine and recorded with its reasons."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from application.command_base import Command
from application.id_fields import NumberRef, ProgramId
from domain.values import Channel


class RequestAuthorization(Command):
    command: Literal["request_authorization"]
    patient_id: ProgramId
    prescriber_id: ProgramId
    daily_dose_mg: Annotated[float, Field(ge=0.5, le=100)]
    days_supply: Annotated[int, Field(ge=1, le=366)]
    refills: Annotated[int, Field(ge=0, le=100)]
    channel: Channel


class RequestDispenseConfirmation(Command):
    command: Literal["request_dispense_confirmation"]
    pharmacy_id: ProgramId
    patient_id: ProgramId
    authorization_number: NumberRef
    days_supply: Annotated[int, Field(ge=1, le=366)]


class RecordDispense(Command):
    command: Literal["record_dispense"]
    pharmacy_id: ProgramId
    confirmation_number: NumberRef
    medication_guide_provided: bool
    counseled: bool
    capsules: Annotated[int, Field(ge=1, le=1000)]
