"""The encryption secret (`REMS_ENCRYPTION_KEY_FILE`, DESIGN.md "Settings") and what derives
from it.

The file holds 32 random bytes as standard base64 and a newline, mode 0600 (created by
`rems keys init` or `create_encryption_key_file`). The same string is eventsourcing's
`CIPHER_KEY` (AES-GCM at rest); the topics' keyed pseudonyms use a key derived from it under a
fixed label, so the cipher key and the pseudonym key are never the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from pathlib import Path
from uuid import UUID

KEY_BYTES = 32
PSEUDONYM_LABEL = b"rems-topic-pseudonym-v1"
READ_MODEL_LABEL = b"rems-read-model-cipher-v1"


class SecretFileError(ValueError):
    """The encryption key file is missing, readable by others, or not 32 base64 bytes."""


def read_encryption_key(path: Path | str) -> str:
    """The base64 key in `path` (eventsourcing's `CIPHER_KEY`); refuses a missing file, a file
    group or others may read or write, or anything but 32 bytes of standard base64."""
    key_path = Path(path)
    try:
        mode = key_path.stat().st_mode
        text = key_path.read_text(encoding="ascii")
    except FileNotFoundError:
        msg = f"REMS_ENCRYPTION_KEY_FILE {key_path}: no such file (create it: rems keys init)"
        raise SecretFileError(msg) from None
    except (OSError, UnicodeDecodeError) as error:
        msg = f"REMS_ENCRYPTION_KEY_FILE {key_path}: cannot be read ({error})"
        raise SecretFileError(msg) from None
    if stat.S_IMODE(mode) & 0o077:
        msg = (
            f"REMS_ENCRYPTION_KEY_FILE {key_path}: mode {stat.S_IMODE(mode):04o}; "
            "it must be readable by its owner only (chmod 600)"
        )
        raise SecretFileError(msg)
    encoded = text.strip()
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        msg = f"REMS_ENCRYPTION_KEY_FILE {key_path}: expected {KEY_BYTES} bytes of base64"
        raise SecretFileError(msg)
    return encoded


def create_encryption_key_file(path: Path | str) -> str:
    """Write a new random key to `path` (mode 0600, created exclusively: an existing file is
    never overwritten); return the key."""
    key_path = Path(path)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    encoded = base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")
    try:
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        msg = f"{key_path} exists; a key is never overwritten"
        raise SecretFileError(msg) from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(encoded + "\n")
    return encoded


def derived_key(secret: bytes, label: bytes) -> bytes:
    """A 32-byte key for one purpose: HMAC-SHA256(secret, label)."""
    return hmac.new(secret, label, hashlib.sha256).digest()


def pseudonym_key(cipher_key: str) -> bytes:
    """The topics' pseudonym key, derived from the encryption secret."""
    return derived_key(base64.b64decode(cipher_key), PSEUDONYM_LABEL)


def read_model_key(cipher_key: str) -> str:
    """The read models' AES-GCM key (base64), derived from the encryption secret."""
    return base64.b64encode(derived_key(base64.b64decode(cipher_key), READ_MODEL_LABEL)).decode()


def keyed_pseudonym(key: bytes, aggregate: UUID) -> UUID:
    """The UUID-shaped keyed pseudonym of an aggregate ID: HMAC-SHA256 under `key`, truncated
    to 128 bits and marked as a version 8 (custom) UUID. Stable for one key, unlinkable without
    it."""
    digest = hmac.new(key, str(aggregate).encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:16], "big")
    value &= ~(0xF << 76) & ~(0x3 << 62)  # clear the version nibble and the variant bits
    value |= (0x8 << 76) | (0x2 << 62)  # RFC 9562 version 8, RFC variant
    return UUID(int=value)
