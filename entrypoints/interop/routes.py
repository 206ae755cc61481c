"""Mount the interop adapters on the API app: CDS Hooks, FHIR, the pharmacy REMS check."""

from __future__ import annotations

from fastapi import FastAPI

from entrypoints.interop.cds_routes import add_cds_routes
from entrypoints.interop.fhir_routes import add_fhir_routes
from entrypoints.interop.pharmacy_routes import add_pharmacy_routes
from entrypoints.interop.settings import InteropSettings


def add_interop_routes(app: FastAPI, settings: InteropSettings | None = None) -> None:
    """Register every interop route; settings from the environment unless given (tests may
    replace `app.state.interop` afterwards)."""
    app.state.interop = settings or InteropSettings.from_env()
    add_cds_routes(app)
    add_pharmacy_routes(app)
    add_fhir_routes(app)
