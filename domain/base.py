"""The one frozen pydantic base for everything the ledger persists, and the event base."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self, get_args
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    """Immutable, strict about unknown fields, timezone-aware datetimes only.

    A field typed plain `datetime` (at any depth: `datetime | None`, `tuple[datetime, ...]`)
    would accept a naive instant, so declaring one is an error when the class is defined;
    `AwareDatetime` fields reject a naive value when a model is built or read back.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, info in cls.model_fields.items():
            if _admits_naive(info.annotation):
                msg = f"{cls.__name__}.{name}: persisted instants are AwareDatetime, not datetime"
                raise TypeError(msg)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A shallow copy with `update` applied, exactly as pydantic's, without its generic
        copying of extra and private data (a frozen model with `extra="forbid"` has none):
        every fold of a replay or rebuild copies its state (issue 13)."""
        if deep or getattr(self, "__pydantic_private__", None) is not None:
            return super().model_copy(update=update, deep=deep)
        copied = type(self).__new__(type(self))
        values = {**self.__dict__, **update} if update else dict(self.__dict__)
        fields_set = self.__pydantic_fields_set__ | (update.keys() if update else set())
        object.__setattr__(copied, "__dict__", values)
        object.__setattr__(copied, "__pydantic_extra__", None)
        object.__setattr__(copied, "__pydantic_fields_set__", fields_set)
        object.__setattr__(copied, "__pydantic_private__", None)
        return copied


def _admits_naive(annotation: Any) -> bool:
    if annotation is datetime:
        return True
    return any(_admits_naive(arg) for arg in get_args(annotation))


class LedgerEvent(Frozen):
    """A fact appended to an aggregate's sequence.

    `timestamp` is the instant the ledger recorded the fact (`recorded_at`); `occurred_at` is when
    it happened in the world (the blood draw, the dispense). Rules read `occurred_at`; audit
    queries "as the ledger knew it at T" read `timestamp`.
    """

    originator_id: UUID
    """The aggregate the fact belongs to (uuid5 of the program ID)."""
    originator_version: int
    """Position of the fact in its aggregate's sequence, from 1."""
    timestamp: AwareDatetime
    """When the ledger recorded the fact (server clock, or the command's `at` under the event
    clock)."""
    occurred_at: AwareDatetime
    """When the fact happened."""
    event_id: UUID = Field(default_factory=uuid4)
    """Unique ID of this event, for downstream de-duplication."""
    actor: str = "batch"
    """Who submitted the command that caused the fact."""
    command_id: str | None = None
    """The client's idempotency key, when it sent one."""
    previous_hash: str = ""
    """The hash of the aggregate's previous event (all zeros for the first)."""
    hash: str = ""
    """SHA-256 of this event's content and position, chained to `previous_hash`."""

    class_version: ClassVar[int] = 1
    """Schema version of the event class; stored events of older versions are upcast with the
    class's `upcast_vN_vM(state)` static methods when read."""

    @property
    def recorded_at(self) -> datetime:
        """When the ledger recorded the fact."""
        return self.timestamp

    @property
    def type_name(self) -> str:
        """The past-tense name of the fact, e.g. `PregnancyTestRecorded`."""
        return type(self).__name__
