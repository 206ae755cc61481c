"""Keyed pseudonyms: the only patient identifier that leaves the ledger on a topic.

A patient aggregate's ID on a topic (message key and `aggregate_id`) is HMAC-SHA256 of its
store ID under the pseudonym key, shaped as a UUID (infra/secrets.py `keyed_pseudonym`):
stable for one secret, so consumers can fold a patient's events, and useless without it (the
store IDs are uuid5 of sequential program IDs and could be enumerated). Prescriber and pharmacy
IDs are not patient data and stay as they are.

The key is derived from `REMS_ENCRYPTION_KEY_FILE`. Without that setting the relay does not
publish store IDs either: it uses a random secret made once per store and kept in the ledger's
own database (`topic_secrets`), so the pseudonyms are as unlinkable, but only a process that can
read that database can map them back (the key file is the documented way).
"""

from __future__ import annotations

import base64
import os
from uuid import UUID

from domain.registry import aggregate_id
from infra.secrets import KEY_BYTES, PSEUDONYM_LABEL, derived_key, keyed_pseudonym, pseudonym_key
from infra.settings import Settings
from infra.views import ViewDatabase

STORE_SECRET_NAME = "topic-pseudonym"
REMEMBERED = 100_000


class Pseudonyms:
    """Maps patient aggregate IDs to their keyed pseudonyms."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._known: dict[UUID, UUID] = {}
        self._texts: dict[str, str] = {}

    def of(self, aggregate: UUID) -> UUID:
        """The pseudonym of a patient aggregate (the recent ones remembered: the relay asks for
        one per message)."""
        known = self._known.get(aggregate)
        if known is None:
            if len(self._known) >= REMEMBERED:
                self._known.clear()
            known = self._known[aggregate] = keyed_pseudonym(self._key, aggregate)
        return known

    def text_of(self, aggregate: str) -> str:
        """The pseudonym, as text, of a patient aggregate ID given as text (in any form `UUID`
        reads, as the store keeps it; the recent ones remembered: the relay asks for one per
        message)."""
        known = self._texts.get(aggregate)
        if known is None:
            if len(self._texts) >= REMEMBERED:
                self._texts.clear()
            known = self._texts[aggregate] = str(self.of(UUID(aggregate)))
        return known

    def of_patient(self, patient_id: str) -> str:
        """The pseudonym of a program patient ID, as topics carry it (the ledger's side of the
        mapping: a consumer's answer for a pseudonym is the patient's)."""
        return str(self.of(aggregate_id("patient", patient_id)))


def pseudonyms_for(settings: Settings, database: ViewDatabase) -> Pseudonyms:
    """The ledger's pseudonyms: from the encryption key file, else the store's own secret."""
    key = settings.cipher_key()
    if key is not None:
        return Pseudonyms(pseudonym_key(key))
    return Pseudonyms(derived_key(store_secret(database), PSEUDONYM_LABEL))


def store_secret(database: ViewDatabase) -> bytes:
    """The store's random pseudonym secret, made on first use."""
    fresh = base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")
    with database.transaction() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS topic_secrets (name TEXT PRIMARY KEY, secret TEXT NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO topic_secrets (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (STORE_SECRET_NAME, fresh),
        )
        row = cursor.fetchone(
            "SELECT secret FROM topic_secrets WHERE name = ?", (STORE_SECRET_NAME,)
        )
    assert row is not None
    return base64.b64decode(str(row[0]))
