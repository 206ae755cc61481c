"""The one frozen base for persisted things (STYLE.md habit 3): timezone-aware instants only,
refused both when a model is built and when a class is declared."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import AwareDatetime, ValidationError

from domain.base import Frozen
from domain.patient_events import PregnancyTestRecorded
from domain.registry import aggregate_id
from domain.values import PregnancyTestResult
from tests.domain.states import ENROLLED


def test_an_event_with_a_naive_instant_is_refused() -> None:
    """A fact whose `occurred_at` has no offset is not a valid event."""
    fields = {
        "originator_id": aggregate_id("patient", "P1"),
        "originator_version": 2,
        "timestamp": ENROLLED,
        "result": PregnancyTestResult.NEGATIVE,
        "sensitivity_miu_per_ml": 25.0,
    }
    PregnancyTestRecorded(occurred_at=ENROLLED, **fields)
    with pytest.raises(ValidationError, match="timezone"):
        PregnancyTestRecorded(occurred_at=ENROLLED.replace(tzinfo=None), **fields)


@pytest.mark.parametrize("annotation", [datetime, datetime | None, tuple[datetime, ...]])
def test_a_persisted_class_may_not_declare_a_plain_datetime_field(annotation: object) -> None:
    """Declaring a field that would accept a naive instant, at any depth, fails at once."""
    with pytest.raises(TypeError, match="AwareDatetime"):
        type("Loose", (Frozen,), {"__annotations__": {"at": annotation}})


def test_aware_fields_are_accepted_at_any_depth() -> None:
    """`AwareDatetime` fields, optional or in tuples, declare fine."""
    model: type[Frozen] = type(
        "Strict",
        (Frozen,),
        {"__annotations__": {"at": AwareDatetime | None, "seen": tuple[AwareDatetime, ...]}},
    )
    assert set(model.model_fields) == {"at", "seen"}
