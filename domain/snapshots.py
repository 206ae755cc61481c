"""A patient's folded state at a version, stored so a cold read need not replay every event.

A snapshot is a cache of the replay, never evidence: verification, exports and decision replay
read the events. It names the hash of the event it was folded up to (`state.head_hash`) and a
digest of the code that folded it, and is used only while both still match.
"""

from __future__ import annotations

from uuid import UUID

from domain.base import Frozen
from domain.patient_state import PatientState


class PatientSnapshot(Frozen):
    """The state of a patient's aggregate after its event `originator_version`."""

    originator_id: UUID
    originator_version: int
    fold_digest: str
    """Digest of the domain code the state was folded by; another digest means another fold."""
    state: PatientState
