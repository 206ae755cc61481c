"""The program's Ed25519 signing key and its public key records (AUDIT-FORMAT.md §4).

The private key lives only in the file named by `REMS_SIGNING_KEY_FILE` (PKCS#8 PEM, mode
0600). Every public key the program ever signed with is kept in the keyring beside it
(`KEYFILE.keyring.json`, an array of `rems-key-v2` records), so tree heads signed before a
rotation still verify under the retired key. `rems keys init` also creates the encryption key
file named by `REMS_ENCRYPTION_KEY_FILE` when it does not exist yet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FORMAT = "rems-key-v2"
CURRENT, RETIRED = "current", "retired"


class KeyError_(ValueError):  # noqa: N801 - the builtin KeyError means a missing mapping key
    """The signing key cannot be used as asked: missing, already there, unreadable."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: object) -> bytes:
    """The bytes of unpadded base64url; `ValueError` when it is not (JSON may hold anything)."""
    if not isinstance(text, str) or "=" in text:
        msg = "not unpadded base64url"
        raise ValueError(msg)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: bytes) -> str:
    """§4: hex SHA-256 of the raw public key."""
    return hashlib.sha256(public).hexdigest()


def key_record(public: bytes, status: str) -> dict[str, Any]:
    """The public key record of §4."""
    return {
        "format": KEY_FORMAT,
        "key_id": key_id_of(public),
        "public_key": b64url(public),
        "status": status,
    }


@dataclass(frozen=True)
class SigningKey:
    """The current private key, with its ID."""

    private: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        """The key's ID."""
        return key_id_of(raw_public(self.private))

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature."""
        return self.private.sign(message)


def keyring_path(key_file: Path) -> Path:
    """Where the public key records live, beside the key."""
    return key_file.with_name(key_file.name + ".keyring.json")


def _write_private(path: Path, key: Ed25519PrivateKey, exclusive: bool) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    target = path if exclusive else path.with_name(f".{path.name}.new")
    if not exclusive:
        target.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    descriptor = os.open(target, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    if not exclusive:
        os.replace(target, path)


def load_signing_key(key_file: Path | None) -> SigningKey:
    """The current signing key; `KeyError_` when there is none or it is unreadable."""
    if key_file is None:
        msg = "no signing key: set REMS_SIGNING_KEY_FILE and run `rems keys init`"
        raise KeyError_(msg)
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except FileNotFoundError:
        msg = f"no signing key at {key_file}: run `rems keys init`"
        raise KeyError_(msg) from None
    except (OSError, ValueError, TypeError) as error:
        msg = f"the signing key {key_file} cannot be read: {error}"
        raise KeyError_(msg) from None
    if not isinstance(key, Ed25519PrivateKey):
        msg = f"the signing key {key_file} is not an Ed25519 key"
        raise KeyError_(msg)
    return SigningKey(key)


def key_records(key_file: Path) -> list[dict[str, Any]]:
    """Every public key record, retired ones included (the current one last)."""
    try:
        records: list[dict[str, Any]] = json.loads(keyring_path(key_file).read_text())
    except FileNotFoundError:
        records = []
    except (OSError, ValueError) as error:
        msg = f"the keyring {keyring_path(key_file)} cannot be read: {error}"
        raise KeyError_(msg) from None
    return records


def _save_records(key_file: Path, records: list[dict[str, Any]]) -> None:
    path = keyring_path(key_file)
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(json.dumps(records, indent=2) + "\n")
    os.replace(temporary, path)


def current_record(key_file: Path | None) -> dict[str, Any]:
    """The current key's public record (from the private key itself)."""
    key = load_signing_key(key_file)
    return key_record(raw_public(key.private), CURRENT)


def init_key(key_file: Path) -> dict[str, Any]:
    """Create the signing key; `KeyError_` (file untouched) when one is there already."""
    if key_file.exists():
        msg = f"{key_file} exists: refusing to overwrite a signing key (use --rotate)"
        raise KeyError_(msg)
    key = Ed25519PrivateKey.generate()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write_private(key_file, key, exclusive=True)
    except FileExistsError:
        msg = f"{key_file} exists: refusing to overwrite a signing key (use --rotate)"
        raise KeyError_(msg) from None
    record = key_record(raw_public(key), CURRENT)
    others = [
        {**r, "status": RETIRED} for r in key_records(key_file) if r["key_id"] != record["key_id"]
    ]
    _save_records(key_file, [*others, record])
    return record


def rotate_key(key_file: Path) -> dict[str, Any]:
    """Retire the current key (its public record stays) and make a new one."""
    old = load_signing_key(key_file)
    old_record = key_record(raw_public(old.private), RETIRED)
    records = [r for r in key_records(key_file) if r["key_id"] != old_record["key_id"]]
    key = Ed25519PrivateKey.generate()
    record = key_record(raw_public(key), CURRENT)
    retired = [{**r, "status": RETIRED} for r in records]
    _save_records(key_file, [*retired, old_record, record])
    _write_private(key_file, key, exclusive=False)
    return record
