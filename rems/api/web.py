"""The compliance staff's and auditors' web pages (server-rendered, no build step)."""

from __future__ import annotations

from fastapi import FastAPI


def add_web_routes(app: FastAPI) -> None:
    """Register the web pages."""
