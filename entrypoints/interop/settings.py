"""Interop settings (INTEROP.md §12.1): the FHIR canonical base, the program URL on cards, and
the allow-listed CDS Hooks clients."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from infra.settings import SettingsError

DEFAULT_CANONICAL = "https://rems.example.org/fhir/lenalidomide"
DEFAULT_PROGRAM_URL = "https://www.lenalidomiderems.com"


@dataclass(frozen=True)
class CdsClient:
    """An EHR allowed to call the CDS services: its issuer and the keys it signs with."""

    iss: str
    jwks: dict[str, Any]
    tenant: str | None = None


@dataclass(frozen=True)
class InteropSettings:
    """`REMS_FHIR_CANONICAL`, `REMS_PROGRAM_URL`, `REMS_CDS_CLIENTS`."""

    canonical: str = DEFAULT_CANONICAL
    program_url: str = DEFAULT_PROGRAM_URL
    cds_clients: tuple[CdsClient, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InteropSettings:
        """Read the three variables; `REMS_CDS_CLIENTS` is inline JSON or `@PATH` to a file."""
        env = os.environ if environ is None else environ
        return cls(
            canonical=env.get("REMS_FHIR_CANONICAL", DEFAULT_CANONICAL).rstrip("/"),
            program_url=env.get("REMS_PROGRAM_URL", DEFAULT_PROGRAM_URL),
            cds_clients=parse_cds_clients(env.get("REMS_CDS_CLIENTS", "")),
        )

    def client(self, iss: str) -> CdsClient | None:
        """The allow-listed client with this issuer."""
        return next((c for c in self.cds_clients if c.iss == iss), None)


def parse_cds_clients(text: str) -> tuple[CdsClient, ...]:
    """`[{"iss", "jwks": {"keys": [...]}, "tenant"?}]`, inline or from `@PATH`."""
    if not text.strip():
        return ()
    raw: Any
    try:
        source = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
        raw = orjson.loads(source)
    except (OSError, orjson.JSONDecodeError) as error:
        msg = f"REMS_CDS_CLIENTS is not readable JSON: {error}"
        raise SettingsError(msg) from None
    if not isinstance(raw, list):
        msg = "REMS_CDS_CLIENTS must be a JSON list of {iss, jwks, tenant?}"
        raise SettingsError(msg)
    clients = []
    for entry in raw:
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("iss"), str)
            and isinstance(entry.get("jwks"), dict)
            and isinstance(entry["jwks"].get("keys"), list)
        )
        if not ok:
            msg = "REMS_CDS_CLIENTS: every entry needs iss (text) and jwks {keys: [...]}"
            raise SettingsError(msg)
        tenant = entry.get("tenant")
        clients.append(
            CdsClient(iss=entry["iss"], jwks=entry["jwks"], tenant=tenant if tenant else None)
        )
    return tuple(clients)
