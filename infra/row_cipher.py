"""Encryption of read-model rows that hold patient data (PHI at rest, issue 12).

A read model keeps only what the rules need (no name, address or phone); what it keeps of a
patient (birth date, diagnosis, the folded facts) is sealed with AES-GCM, eventsourcing's own
cipher, under a key derived from the encryption secret (infra/secrets.py). Sealed text is
`enc1:` and base64; a row written without a key reads back as it was.
"""

from __future__ import annotations

import base64

from infra.secrets import read_model_key

SEALED_PREFIX = "enc1:"


class RowCipherError(ValueError):
    """A sealed row read without the key, or with the wrong one."""


class RowCipher:
    """Seals and opens the text of one read-model column."""

    def __init__(self, cipher_key: str) -> None:
        """`cipher_key`: the encryption secret (base64), as read from the key file."""
        # Imported here: a ledger without a key (and every query's start) loads no crypto.
        from eventsourcing.cryptography import AESCipher
        from eventsourcing.utils import Environment

        env = Environment(env={AESCipher.CIPHER_KEY: read_model_key(cipher_key)})
        self._cipher = AESCipher(env)

    def seal(self, text: str) -> str:
        """The text encrypted (a fresh nonce each time)."""
        sealed = self._cipher.encrypt(text.encode())
        return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")

    def open(self, stored: str) -> str:
        """The text of a stored value: opened when sealed, as stored when written before."""
        if not stored.startswith(SEALED_PREFIX):
            return stored
        try:
            return self._cipher.decrypt(base64.b64decode(stored[len(SEALED_PREFIX) :])).decode()
        except ValueError as error:
            msg = f"a read-model row cannot be decrypted with this key ({error})"
            raise RowCipherError(msg) from None


class PlainRows:
    """The sealer of a ledger without an encryption key: stores text as it is and refuses a
    sealed row (a read model written under a key) rather than serving garbage."""

    def seal(self, text: str) -> str:
        """The text, unchanged."""
        return text

    def open(self, stored: str) -> str:
        """The stored text; a sealed one is an error."""
        if stored.startswith(SEALED_PREFIX):
            msg = "a read-model row is encrypted; set REMS_ENCRYPTION_KEY_FILE to read it"
            raise RowCipherError(msg)
        return stored


def row_sealer(cipher_key: str | None) -> RowCipher | PlainRows:
    """The read models' sealer for an encryption key (None: `PlainRows`)."""
    return RowCipher(cipher_key) if cipher_key else PlainRows()
