"""Small aggregates that make numbers and command IDs unique and addressable.

A number claim is written in the same transaction as the decision that issues the number, so a
collision is a version conflict (never two owners) and a number finds its patient without a scan.
A command receipt does the same for a client's `command_id` (idempotency).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from domain.base import Frozen, LedgerEvent

NAMESPACE = UUID("0f5b8a3e-54a1-5d0c-9d7e-6a1c2f0e7b41")
"""Namespace of every aggregate ID of the program (uuid5 of a kind and a program ID)."""


@lru_cache(maxsize=65_536)
def aggregate_id(kind: str, program_id: str) -> UUID:
    """Deterministic aggregate ID: a command addresses its aggregate without a lookup (kept for
    the recently used IDs: each command computes several)."""
    return uuid5(NAMESPACE, f"{kind}:{program_id}")


class NumberClaim(Frozen):
    """Who an authorization or confirmation number belongs to."""

    id: UUID
    version: int
    head_hash: str
    number: str
    kind: str
    patient_id: str


class NumberClaimed(LedgerEvent):
    """An authorization or confirmation number was issued to a patient."""

    number: str
    kind: str
    """`authorization` or `confirmation`."""
    patient_id: str

    def apply(self, state: NumberClaim | None) -> NumberClaim:
        """The claim this event creates."""
        return NumberClaim(
            id=self.originator_id,
            version=self.originator_version,
            head_hash=self.hash,
            number=self.number,
            kind=self.kind,
            patient_id=self.patient_id,
        )


class CommandReceipt(Frozen):
    """The first result of a command that carried a `command_id`."""

    id: UUID
    version: int
    head_hash: str
    command_id: str
    result: dict[str, Any]
    command: str = ""
    """The command the key was first used for (a key names one command)."""


class CommandReceived(LedgerEvent):
    """A command with a `command_id` was decided; repeating it returns this result.

    Its aggregate ID is uuid5 of the `command_id` (the base event's field)."""

    command: str
    result: dict[str, Any]

    def apply(self, state: CommandReceipt | None) -> CommandReceipt:
        """The receipt this event creates."""
        return CommandReceipt(
            id=self.originator_id,
            version=self.originator_version,
            head_hash=self.hash,
            command_id=self.command_id or "",
            result=self.result,
            command=self.command,
        )


def project_claim(state: NumberClaim | None, events: Iterable[NumberClaimed]) -> NumberClaim | None:
    """Fold a number claim's events."""
    for event in events:
        state = event.apply(state)
    return state


def project_receipt(
    state: CommandReceipt | None, events: Iterable[CommandReceived]
) -> CommandReceipt | None:
    """Fold a command receipt's events."""
    for event in events:
        state = event.apply(state)
    return state
