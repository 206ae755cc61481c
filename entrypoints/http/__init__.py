"""The HTTP API (FastAPI): commands and queries as JSON."""
