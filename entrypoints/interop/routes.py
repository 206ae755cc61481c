"""The interop adapters on the API app: CDS Hooks, FHIR, the pharmacy REMS check.

One router, included by `entrypoints.http.app` like the API's own areas; `interop_state` puts
what the routes read on the app (tests may replace `app.state.interop` afterwards).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from entrypoints.interop import cds_routes, fhir_routes, pharmacy_routes
from entrypoints.interop.cds_auth import SeenTokens
from entrypoints.interop.pharmacy import MessageProblem
from entrypoints.interop.settings import InteropSettings

router = APIRouter()
router.include_router(cds_routes.router)
router.include_router(pharmacy_routes.router)
router.include_router(fhir_routes.router)


def interop_state(app: FastAPI, settings: InteropSettings | None = None) -> None:
    """The interop settings (from the environment unless given), the replay cache of accepted
    CDS Hooks tokens, and the answer to a refused pharmacy message."""
    app.state.interop = settings or InteropSettings.from_env()
    app.state.cds_tokens = SeenTokens()
    app.exception_handler(MessageProblem)(pharmacy_routes.message_problem)
