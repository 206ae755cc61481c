"""Audit of the stored ledger: `verify` (tamper evidence) and published digests."""

from audit.digest import Digest, compute_digest, parse_digest
from audit.verify import Problem, ProblemKind, VerificationReport, verify

__all__ = [
    "Digest",
    "Problem",
    "ProblemKind",
    "VerificationReport",
    "compute_digest",
    "parse_digest",
    "verify",
]
