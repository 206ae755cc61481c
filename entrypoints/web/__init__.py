"""The compliance and auditor web pages (server-rendered HTML under /ui)."""
