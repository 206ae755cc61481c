"""Body limits per path prefix (INTEROP.md §1.5): 1 MiB for CDS Hooks and FHIR (a patient-view
prefetch easily exceeds 64 KiB), the API's 64 KiB everywhere else. A plain table, so whatever
enforces the limit (the Content-Length check in `entrypoints.http.app`) can read it."""

from __future__ import annotations

from fastapi.responses import Response

from entrypoints.http.responses import error_response
from entrypoints.interop.fhir_build import outcome_response

MIB = 1024 * 1024
BODY_LIMITS: tuple[tuple[str, int], ...] = (("/cds-services", MIB), ("/fhir", MIB))


def body_limit(path: str, default: int) -> int:
    """The largest body accepted on this path."""
    for prefix, limit in BODY_LIMITS:
        if path == prefix or path.startswith(prefix + "/"):
            return limit
    return default


def too_large_response(path: str, limit: int) -> Response:
    """413 in the path's own error shape: an OperationOutcome under /fhir, else the envelope."""
    text = f"The body is limited to {limit} bytes."
    if path == "/fhir" or path.startswith("/fhir/"):
        return outcome_response(413, "too-costly", text)
    return error_response("too_large", text)
