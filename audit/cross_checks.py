"""What `rems verify` checks once the whole log is read: each number's claim against its
issuing decision, and the heads at a published digest's position (they span aggregates, so
they are read from the spill after every aggregate's own checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.digest import log_end, parse_digest
from audit.findings import ProblemKind
from domain.registry import aggregate_id

if TYPE_CHECKING:
    from audit.verify import Verifier
    from audit.verify_spill import NumberRecord


def check_claims(verifier: Verifier) -> None:
    """Each number's claim against the decision that issued it (a claim without its decision
    is an orphan, a decision without its claim an unclaimed number)."""
    for pair in verifier.spill.mismatched_pairs():
        kind, number, claim, issued = pair.kind, pair.number, pair.claim, pair.issued
        if claim is None:
            if issued is not None:
                _unclaimed(verifier, kind, number, issued)
            continue
        patient = aggregate_id("patient", claim.patient_id)
        if issued is None or issued.aggregate != patient:
            verifier.report(
                ProblemKind.ORPHAN_CLAIM,
                patient,
                None,
                claim.position,
                f"{kind} number {number} is claimed for patient {claim.patient_id} "
                f"(claim {claim.aggregate} at position {claim.position}) but the "
                f"patient's aggregate {patient} has no decision issuing it.",
            )


def _unclaimed(verifier: Verifier, kind: str, number: str, issued: NumberRecord) -> None:
    verifier.report(
        ProblemKind.UNCLAIMED_NUMBER,
        issued.aggregate,
        issued.version,
        issued.position,
        f"{kind} number {number} issued by {issued.aggregate} "
        f"v{issued.version} at position {issued.position} has no claim.",
    )


def check_digest(verifier: Verifier, digest: str) -> None:
    """The aggregate heads at a published digest's position against the digest."""
    position, expected = parse_digest(digest)
    end = max(verifier.position, log_end(verifier.ledger))
    if position > end:
        verifier.report(
            ProblemKind.DIGEST_BEYOND_END,
            None,
            None,
            position,
            f"the digest is at position {position}, beyond the end of the log "
            f"({end}): events were deleted from the end, or it is another ledger's.",
        )
        return
    actual = verifier.spill.digest(position)
    if actual.sha256 != expected:
        verifier.report(
            ProblemKind.DIGEST_MISMATCH,
            None,
            None,
            position,
            f"the ledger's digest at position {position} is {actual.text}, not the "
            "published one: an event at or before that position was altered, "
            "deleted or inserted.",
        )
