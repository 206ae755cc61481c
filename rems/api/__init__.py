"""The HTTP API (FastAPI) and the compliance web pages."""
