"""What verification reports: the kinds of problem, one finding, and the whole report
(`rems verify`, `/v1/verify`); the checks that produce them are in `audit.verify`,
`audit.read_models` and `audit.sth_check`."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from domain.base import Frozen


class ProblemKind(StrEnum):
    """What verification found wrong with a stored event."""

    ALTERED = "altered"
    CHAIN_BROKEN = "chain_broken"
    MISSING_VERSION = "missing_version"
    OUT_OF_ORDER = "out_of_order"
    UNREADABLE = "unreadable"
    UNKNOWN_TOPIC = "unknown_topic"
    INVALID_EVENT = "invalid_event"
    ORPHAN_CLAIM = "orphan_claim"
    UNCLAIMED_NUMBER = "unclaimed_number"
    DIGEST_MISMATCH = "digest_mismatch"
    DIGEST_BEYOND_END = "digest_beyond_end"
    STH_SIGNATURE = "sth_signature"
    STH_MISMATCH = "sth_mismatch"
    STH_BEYOND_END = "sth_beyond_end"
    TREE_INCONSISTENT = "tree_inconsistent"
    READ_MODEL_MISMATCH = "read_model_mismatch"


class Problem(Frozen):
    """One finding of `verify`."""

    aggregate_id: UUID | None
    """The aggregate concerned (None for a ledger-wide finding, e.g. a digest mismatch)."""
    version: int | None
    """The version of the event concerned, when there is one."""
    position: int | None
    """The log position (notification ID) of the row concerned, when there is one."""
    kind: ProblemKind
    """What is wrong."""
    message: str
    """A sentence an auditor can act on."""


class VerificationReport(Frozen):
    """The answer of `rems verify`."""

    ok: bool
    """True when no problem was found."""
    events_checked: int
    """Rows of the notification log read."""
    aggregates: int
    """Distinct aggregates among them."""
    position: int
    """The last log position read (0 for an empty log)."""
    digest: str | None = None
    """The published digest checked, if one was given."""
    problems: list[Problem]
    """Every finding, in log order."""
