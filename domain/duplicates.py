"""One person, one enrollment (E8): the folded identity and the index of who holds it.

Matching is exact after folding: case, accents, spaces and punctuation are folded away from the
name (Unicode NFKD, combining marks dropped, case-folded, letters and digits kept), and the date
of birth must be the same. The index is one small aggregate per folded identity whose ID is
uuid5 of a SHA-256 of it, written in the same transaction as the enrollment: two enrollments of
one person at once conflict on its version (one retries and is then flagged). It holds no name
or birth date, and its events are never published (no topic routes them).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from datetime import date
from uuid import UUID

from domain.base import Frozen, LedgerEvent
from domain.registry import aggregate_id

POSSIBLE_DUPLICATE_MESSAGE = "possible duplicate, under compliance review"
"""What the enrollment result says; it never names the other patient."""


def folded_name(name: str) -> str:
    """The name with case, accents, spaces and punctuation folded away."""
    decomposed = unicodedata.normalize("NFKD", name).casefold()
    return "".join(ch for ch in decomposed if ch.isalnum())


def person_key(name: str, date_of_birth: date) -> str:
    """A one-way key of the folded name and the birth date."""
    text = f"rems-person-v1\x1f{folded_name(name)}\x1f{date_of_birth.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def person_index_id(name: str, date_of_birth: date) -> UUID:
    """The index aggregate of a person's folded identity."""
    return aggregate_id("person", person_key(name, date_of_birth))


class PersonIndex(Frozen):
    """The program IDs enrolled under one folded identity, in enrollment order."""

    id: UUID
    version: int
    head_hash: str
    patient_ids: tuple[str, ...]


class PersonIndexed(LedgerEvent):
    """A patient ID was enrolled under this folded identity (internal: never published)."""

    patient_id: str

    def apply(self, state: PersonIndex | None) -> PersonIndex:
        """The index with this patient added."""
        held = state.patient_ids if state is not None else ()
        return PersonIndex(
            id=self.originator_id,
            version=self.originator_version,
            head_hash=self.hash,
            patient_ids=(*held, self.patient_id),
        )


def project_person_index(
    state: PersonIndex | None, events: Iterable[PersonIndexed]
) -> PersonIndex | None:
    """Fold an index's events."""
    for event in events:
        state = event.apply(state)
    return state
