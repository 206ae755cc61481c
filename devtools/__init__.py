"""Development servers (PostgreSQL, Kafka) started by scripts and tests; never by the ledger."""
