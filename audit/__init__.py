"""Audit of the stored ledger: `verify` (tamper evidence, `audit.verify`) and published digests
(`audit.digest`). The package imports none of its modules, so a module of it that needs little
(`audit.stored_hash`, the domain tier's) loads little."""
