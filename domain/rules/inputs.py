"""What a decision read, as typed models: recorded on the decision event, compared on replay.

The decision events store these as plain mappings (`Decision.inputs`), in the shape `recorded()`
gives: instants and dates as ISO-8601 text, exactly as `isoformat()` writes them, so the stored
form and the event hashes do not depend on pydantic's own datetime format.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, PlainSerializer

from domain.base import Frozen

IsoInstant = Annotated[AwareDatetime, PlainSerializer(datetime.isoformat, return_type=str)]
IsoDate = Annotated[date, PlainSerializer(date.isoformat, return_type=str)]


class DecisionInputs(Frozen):
    """Common to every decision: the patient version judged and the program's zone."""

    patient_version: int
    """The patient's aggregate version the rules read (the events before the decision)."""

    def recorded(self) -> dict[str, Any]:
        """The mapping stored on the decision event; fields never set are left out."""
        return self.model_dump(mode="json", exclude_unset=True)


class AuthorizationInputs(DecisionInputs):
    """What an authorization decision read (A1)."""

    prescriber_version: int | None
    """The requesting prescriber's version; None when the prescriber is unknown (P1)."""
    last_negative_test_collected_at: IsoInstant | None
    """The last sensitive negative pregnancy test relied on (FRP only; A2, T6)."""
    latest_survey_completed_at: IsoInstant | None
    """The patient's latest survey (S2, S3)."""
    contraception_started_on: IsoDate | None
    """When the current contraception regimen started (C1-C3)."""
    initial: bool
    """Whether the prescription is initial (T1, T2, S2) or subsequent (S3)."""
    timezone: str
    """The program's time zone the day-based windows were judged in."""


class ConfirmationInputs(DecisionInputs):
    """What a dispense confirmation decision read (D1)."""

    pharmacy_version: int | None
    """The pharmacy's version; None when the pharmacy is unknown (P2)."""
    days_supply: int
    """The supply the pharmacy asked to confirm."""
    timezone: str
    """The program's time zone."""
    prescriber_version: int | None = None
    """The version of the prescriber who obtained the authorization (P3); not set when the
    authorization number is not the patient's."""


class DispenseInputs(DecisionInputs):
    """What a dispense decision read (D1)."""

    pharmacy_version: int | None
    """The pharmacy's version; None when the pharmacy is unknown (P2)."""
    timezone: str
    """The program's time zone."""
