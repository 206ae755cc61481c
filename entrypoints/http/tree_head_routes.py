"""GET tree heads, proofs and public keys for auditors (AUDIT-FORMAT.md §4, §5).

`/v1/sth` signs a fresh tree head (not published: `rems sth --publish` and exports publish);
`/v1/proofs/inclusion/{position}` and `/v1/proofs/consistency` are `rems prove` and
`rems consistency`; `/v1/keys` lists every public key record. Compliance and auditors only.
A size beyond the log is `invalid` (422); without a signing key there is no signed head
to give: `not_found` (404), with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from audit.keys import KeyError_, current_record, key_records, load_signing_key
from audit.log_tree import LogTree
from audit.tree_heads import BadInput, consistency_proof, inclusion_proof, sign_tree_head
from entrypoints.http.dependencies import Caller, api_state
from entrypoints.http.policy import check_program_read
from entrypoints.http.responses import error_response

router = APIRouter()
"""The auditors' tree-head routes."""

Size = Annotated[int, Query(ge=0, le=2**53 - 1)]


@router.get("/v1/sth", tags=["audit"], response_model=None)
def get_sth(request: Request, principal: Caller) -> JSONResponse:
    """A signed tree head over the whole log now, with both roots."""
    check_program_read(principal, "tree head")
    ledger = api_state(request).ledger
    try:
        key = load_signing_key(ledger.settings.signing_key_file)
    except KeyError_ as error:
        return error_response("not_found", str(error))
    with LogTree(ledger) as tree:
        return JSONResponse(sign_tree_head(tree.snapshot(), key))


@router.get("/v1/proofs/inclusion/{position}", tags=["audit"], response_model=None)
def get_inclusion(
    request: Request, position: int, tree_size: Size, principal: Caller
) -> JSONResponse:
    """The RFC 9162 inclusion proof of the event at a log position in the tree of a size."""
    check_program_read(principal, "proofs")
    with LogTree(api_state(request).ledger) as tree:
        try:
            return JSONResponse(inclusion_proof(tree, position, tree_size))
        except BadInput as error:
            return error_response("invalid", str(error))


@router.get("/v1/proofs/consistency", tags=["audit"], response_model=None)
def get_consistency(request: Request, first: Size, second: Size, principal: Caller) -> JSONResponse:
    """The RFC 9162 consistency proof between two tree sizes."""
    check_program_read(principal, "proofs")
    with LogTree(api_state(request).ledger) as tree:
        try:
            return JSONResponse(consistency_proof(tree, first, second))
        except BadInput as error:
            return error_response("invalid", str(error))


@router.get("/v1/keys", tags=["audit"], response_model=None)
def get_keys(request: Request, principal: Caller) -> JSONResponse:
    """Every public key record of the program, retired ones included."""
    check_program_read(principal, "public keys")
    key_file = api_state(request).ledger.settings.signing_key_file
    try:
        current = current_record(key_file)
        assert key_file is not None, "current_record needs a key file"
        records: list[dict[str, Any]] = key_records(key_file)
    except KeyError_ as error:
        return error_response("not_found", str(error))
    if not any(r.get("key_id") == current["key_id"] for r in records):
        records.append(current)
    return JSONResponse(records)
