"""Audit of the stored ledger: `verify` (tamper evidence) and published digests."""

from audit.digest import Digest, compute_digest, parse_digest
from audit.findings import Problem, ProblemKind, VerificationReport
from audit.verify import verify

__all__ = [
    "Digest",
    "Problem",
    "ProblemKind",
    "VerificationReport",
    "compute_digest",
    "parse_digest",
    "verify",
]
