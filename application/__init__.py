"""The ledger application service: commands in, events out, queries, decision replay."""
