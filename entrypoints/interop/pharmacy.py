"""The pharmacy REMS check as JSON with NCPDP SCRIPT element names (INTEROP.md §4): reading the
messages, and the ledger's results as REMSResponse / REMSInitiationResponse / RxFill answers.
Names, birth dates and addresses in a message are never read: people are found by the REMS
patient ID and the authorization number only."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from entrypoints.interop.products import is_lenalidomide_ndc

# §4.2 / §12.6: one DeniedReasonCode by priority (prototype code list; NCPDP External Code List
# values unverified). The rule IDs in `Ledger.reasons` are authoritative.
CODE_PRIORITY = (
    (("P3", "P2"), "EY"),
    (("P2",), "EO"),
    (("P3",), "EX"),
    (("P1",), "ES"),
    (("P5",), "ES"),
    (("E1",), "EM"),
    (("E6",), "EM"),
    (("T7",), "EZ"),
)


class MessageProblem(Exception):
    """A message that cannot be used: HTTP status and the envelope's code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def path(message: Any, *keys: str) -> Any:
    """The value at a path of nested objects, or None."""
    node = message
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def required_text(message: Any, *keys: str) -> str:
    """A required non-empty text field; 422 naming its path otherwise."""
    value = path(message, *keys)
    if not isinstance(value, str) or not value.strip():
        raise MessageProblem(422, "invalid", f"{'.'.join(keys)}: required text.")
    return value.strip()


def required_number(message: Any, *keys: str) -> int:
    """A required whole number (not a boolean); 422 naming its path otherwise."""
    value = path(message, *keys)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MessageProblem(422, "invalid", f"{'.'.join(keys)}: a number.")
    return value


def header(message: Any) -> tuple[str, str | None]:
    """`Header.MessageID` (the idempotency key) and `Header.SentTime` (the command's `at`)."""
    message_id = required_text(message, "Header", "MessageID")
    sent = path(message, "Header", "SentTime")
    if sent is not None and not isinstance(sent, str):
        raise MessageProblem(422, "invalid", "Header.SentTime: an ISO date-time.")
    return message_id, sent


def check_product(request: Any, *where: str) -> None:
    """The product must be lenalidomide (NDC, qualifier ND), else 422 (§4.2)."""
    code = path(request, *where, "Product", "DrugCoded", "ProductCode")
    if path(code, "Qualifier") != "ND" or not is_lenalidomide_ndc(path(code, "Code")):
        msg = f"{'.'.join(where)}.Product.DrugCoded.ProductCode: not a lenalidomide NDC (ND)."
        raise MessageProblem(422, "invalid", msg)


def check_pharmacy(request: Any, pharmacy_id: str) -> None:
    """A pharmacy named in the body must be the token's (the token's subject decides)."""
    named = path(request, "Pharmacy", "Identification", "REMSHealthcareSettingEnrollmentID")
    if named is not None and (not isinstance(named, str) or named.strip() != pharmacy_id):
        msg = f"Pharmacy: a pharmacy acts only as itself ({pharmacy_id})."
        raise MessageProblem(403, "forbidden", msg)


def denied_code(rules: list[str]) -> str:
    """The single SCRIPT code for a denial's rules."""
    present = set(rules)
    for needed, code in CODE_PRIORITY:
        if present.issuperset(needed):
            return code
    return "EC"


def response_header(message_id: str, now: datetime) -> dict[str, str]:
    """The answer's header: a MessageID derived from the request's, so a retry gets the same."""
    return {
        "MessageID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ncpdp-response:{message_id}")),
        "RelatesToMessageID": message_id,
        "SentTime": now.isoformat(),
    }


def note(reasons: list[dict[str, str]], fallback: str) -> str:
    """`REMSNote`: every reason as `RULE: message`."""
    return " ".join(f"{r['rule']}: {r['message']}" for r in reasons) or fallback
