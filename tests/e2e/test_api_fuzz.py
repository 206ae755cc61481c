"""Bad input and abuse over HTTP (issue 6, "Bad input and abuse"): a schema-driven fuzz run
(schemathesis 4.x against /openapi.json) that finds no 5xx and no response outside the
documented schema, once with a compliance token and once with a prescriber token; and plain
tests of oversized bodies (413), wrong content types (415), unknown fields and malformed JSON
(422), each recording nothing.

The schema is loaded once at import from a throwaway app (schemathesis' lazy
`pytest.from_fixture` loader does not run under pytest 9); each fuzz test sends its cases to an
app of its own over a fresh SQLite ledger on the system clock, as production runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from application.commands import COMMANDS
from application.ledger import Ledger
from entrypoints.http.app import MAX_BODY_BYTES, create_app
from infra.settings import ClockMode, Settings
from tests.api_client import COMPLIANCE, DR1, PH1, Http, frp_form
from tests.conftest import make_ledger
from tests.e2e.test_api_roles import ALLOWED, ROLES
from tests.program import TZ


def _openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, from an app over a throwaway ledger."""
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Settings(database_url=f"sqlite:///{folder}/schema.db", timezone=TZ))
        app = create_app(ledger=ledger)
        try:
            return app.openapi()
        finally:
            app.state.api.close()


class Proxy:
    """The ASGI app the schema is bound to: it forwards to the current test's app, so every
    request of a case, including those that checks re-send, reaches that test's ledger."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.target is not None, "no fuzz target app is set"
        await self.target(scope, receive, send)


PROXY = Proxy()
schema = schemathesis.openapi.from_dict(_openapi_document())
schema.app = PROXY

# No 5xx, and every response within the documented statuses, content types, headers and
# bodies; requests without the token must be refused. (The default set also has
# positive_data_acceptance, which reports any 4xx to a schema-valid body: a valid body may
# still name an unknown patient or disagree with its Idempotency-Key header.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]
FUZZ = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Target:
    """An app over a fresh SQLite ledger (system clock) holding DR1, PH1 and DR1's patient
    PAT1, and the bearer token the fuzz run sends."""

    def __init__(self, folder: Path, who: str) -> None:
        assert PROXY.target is None, "one fuzz target at a time"
        ledger = Ledger(
            Settings(
                database_url=f"sqlite:///{folder / 'fuzz.db'}",
                clock=ClockMode.SYSTEM,
                timezone=TZ,
            )
        )
        self.api = Http(ledger, start=datetime.now(UTC) - timedelta(seconds=5))
        self.api.participants()
        self.api.ok(DR1, "enroll_patient", **frp_form("PAT1", "DR1"))
        self.headers = self.api.auth(who)
        PROXY.target = self.api.app

    def close(self) -> None:
        """Unbind the app, then close it and its ledger."""
        PROXY.target = None
        self.api.close()


@pytest.fixture
def compliance_target(tmp_path: Path) -> Iterator[Target]:
    """The fuzz target, called with a compliance token."""
    target = Target(tmp_path, COMPLIANCE)
    yield target
    target.close()


@pytest.fixture
def prescriber_target(tmp_path: Path) -> Iterator[Target]:
    """The fuzz target, called with DR1's prescriber token."""
    target = Target(tmp_path, DR1)
    yield target
    target.close()


def send(case: schemathesis.Case[Any], target: Target, scope: dict[str, str] | None = None) -> None:
    """Send the case to the target's app with its token and run the checks; with `scope`, a
    generated body's IDs are first set to the caller's own (so it reaches the ledger rather than
    stopping at the 403 guard)."""
    assert PROXY.target is target.api.app
    if scope and isinstance(case.body, dict):
        case.body.update({k: v for k, v in scope.items() if k in case.body})
    case.call_and_validate(headers=target.headers, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_fuzz_as_compliance(case: schemathesis.Case[Any], compliance_target: Target) -> None:
    """Generated requests to every operation with a compliance token: no 5xx, nothing outside
    the schema."""
    send(case, compliance_target)


@schema.parametrize()
@FUZZ
def test_fuzz_as_prescriber(case: schemathesis.Case[Any], prescriber_target: Target) -> None:
    """Generated requests to every operation with DR1's prescriber token, bodies about DR1's own
    patient: no 5xx, nothing outside the schema."""
    send(case, prescriber_target, {"patient_id": "PAT1", "prescriber_id": "DR1"})


# ------------------------------------------------------------------------------ plain abuse
@pytest.fixture
def api(sqlite_url: str) -> Iterator[Http]:
    """An app over a fresh SQLite ledger (event clock) with DR1, PH1 and DR1's patient PAT1."""
    http = Http(make_ledger(sqlite_url))
    http.participants()
    http.ok(DR1, "enroll_patient", **frp_form())
    yield http
    http.close()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert body["error"]["reasons"] == []
    error: dict[str, Any] = body["error"]
    return error


def _cbc(api: Http, **extra: Any) -> bytes:
    """A valid record_cbc body for PAT1, with extra fields."""
    return orjson.dumps(api.body("record_cbc", patient_id="PAT1", collected_at=api.now, **extra))


def test_an_oversized_body_is_413_and_records_nothing(api: Http) -> None:
    """A body over 64 KiB is 413, whether it declares its length or arrives chunked; one at the
    limit is read and answered on its merits (422 here); nothing is recorded."""
    before = api.log_size()
    headers = {**api.auth(DR1), "Content-Type": "application/json"}
    padding = MAX_BODY_BYTES - len(_cbc(api, concerns=""))
    at_limit = _cbc(api, concerns="x" * padding)
    assert len(at_limit) == MAX_BODY_BYTES
    over = _cbc(api, concerns="x" * (padding + 1))
    response = api.client.post("/v1/commands/record_cbc", content=over, headers=headers)
    _error(response, 413, "too_large")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(over), 4096):
            yield over[start : start + 4096]

    chunked = api.client.post("/v1/commands/record_cbc", content=chunks(), headers=headers)
    assert "content-length" not in chunked.request.headers
    _error(chunked, 413, "too_large")
    huge = api.client.post(
        "/v1/commands/record_cbc",
        content=b"{" + b" " * (4 * MAX_BODY_BYTES) + b"}",
        headers=headers,
    )
    _error(huge, 413, "too_large")
    unauthenticated = api.client.post(
        "/v1/commands/record_cbc", content=over, headers={"Content-Type": "application/json"}
    )
    assert unauthenticated.status_code in (401, 413)
    limit = api.client.post("/v1/commands/record_cbc", content=at_limit, headers=headers)
    assert _error(limit, 422, "invalid")["field"] == "concerns"
    assert api.log_size() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonp",
        None,
    ],
)
def test_a_wrong_content_type_is_415_and_records_nothing(api: Http, content_type: str | None):
    """A command body that is not declared application/json is 415, even when the bytes are
    valid JSON; nothing is recorded."""
    before = api.log_size()
    headers = api.auth(DR1)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = api.client.post("/v1/commands/record_cbc", content=_cbc(api), headers=headers)
    _error(response, 415, "unsupported_media_type")
    assert api.log_size() == before


def test_a_form_post_is_415(api: Http) -> None:
    """An HTML form's urlencoded post of the command's fields is 415 and records nothing."""
    before = api.log_size()
    response = api.client.post(
        "/v1/commands/record_cbc",
        data={"patient_id": "PAT1", "collected_at": api.now.isoformat(), "at": api.now.isoformat()},
        headers=api.auth(DR1),
    )
    _error(response, 415, "unsupported_media_type")
    assert api.log_size() == before


def test_json_with_a_charset_is_accepted(api: Http) -> None:
    """`application/json; charset=utf-8` is JSON."""
    headers = {**api.auth(DR1), "Content-Type": "application/json; charset=utf-8"}
    response = api.client.post("/v1/commands/record_cbc", content=_cbc(api), headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("command", "who", "extra", "field"),
    [
        ("record_cbc", DR1, {"bogus": 1}, "bogus"),
        ("record_cbc", DR1, {"patientid": "PAT1"}, "patientid"),
        ("record_cbc", DR1, {"Patient_ID": "PAT1"}, "Patient_ID"),
        ("record_dispense", PH1, {"pharmacy_id": "PH1", "confirmation_number": "RC-1",
         "medication_guide_provided": True, "counseled": True, "capsules": 1,
         "capsule": 1}, "capsule"),
        ("enroll_patient", DR1, {**frp_form("PAT9"), "guardian": {"name": "G", "signed": True,
         "signed_on": "2026-02-01", "relation": "mother"}}, "guardian.relation"),
    ],
)  # fmt: skip
def test_an_unknown_field_is_422_naming_it(
    api: Http, command: str, who: str, extra: dict[str, Any], field: str
) -> None:
    """A misspelt or extra field (top level or nested) is 422 `invalid` naming the field, and
    nothing is recorded."""
    before = api.log_size()
    fields = dict(extra)
    if command == "record_cbc":
        fields = {"patient_id": "PAT1", "collected_at": api.now, **fields}
    response = api.post(who, command, **fields)
    error = _error(response, 422, "invalid")
    assert error["field"] == field
    assert field in error["message"]
    assert api.log_size() == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"patient_id": "PAT1", ',
        b"{'patient_id': 'PAT1'}",
        b'{"patient_id": "PAT1",}',
        b"",
        b"null",
        b"[]",
        b'"record_cbc"',
        b"42",
        b'{"patient_id": NaN}',
        b'{"patient_id": "\xff\xfe"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
    ],
    ids=[
        "truncated",
        "single-quotes",
        "trailing-comma",
        "empty",
        "null",
        "array",
        "string",
        "number",
        "nan",
        "bad-utf8",
        "deep-array",
        "deep-object",
    ],
)
def test_malformed_json_is_422_and_records_nothing(api: Http, raw: bytes) -> None:
    """A body that is not a JSON object (truncated, not JSON, invalid UTF-8, nested past any
    parser's limit, or another JSON type) is 422 `invalid` and nothing is recorded."""
    before = api.log_size()
    headers = {**api.auth(DR1), "Content-Type": "application/json"}
    response = api.client.post("/v1/commands/record_cbc", content=raw, headers=headers)
    error = _error(response, 422, "invalid")
    assert error["field"] == "body"
    assert api.log_size() == before


def test_a_body_naming_another_command_is_422(api: Http) -> None:
    """`"command": "record_dispense"` posted to /v1/commands/record_cbc is 422 naming
    `command`, and nothing is recorded (the path decides what is applied)."""
    before = api.log_size()
    response = api.post(
        DR1, "record_cbc", command="record_dispense", patient_id="PAT1", collected_at=api.now
    )
    assert _error(response, 422, "invalid")["field"] == "command"
    unknown = api.client.post("/v1/commands/drop_table", json={}, headers=api.auth(COMPLIANCE))
    assert unknown.status_code == 404
    assert api.log_size() == before


def test_abuse_of_the_idempotency_key_is_422(api: Http) -> None:
    """An empty or over-long Idempotency-Key is 422 and records nothing."""
    before = api.log_size()
    for key in ("", "k" * 201):
        response = api.post(
            DR1,
            "record_cbc",
            headers={"Idempotency-Key": key},
            patient_id="PAT1",
            collected_at=api.now,
        )
        _error(response, 422, "invalid")
    assert api.log_size() == before


def test_every_command_route_guards_its_body(api: Http) -> None:
    """On every command route, an empty JSON object is 422 `invalid` (never 5xx) for the role
    allowed to send it, and text/plain is 415; nothing is recorded."""
    before = api.log_size()
    for command, roles in ALLOWED.items():
        who = ROLES[sorted(roles)[0]]
        empty = api.client.post(f"/v1/commands/{command}", json={}, headers=api.auth(who))
        assert empty.status_code in (403, 422), (command, empty.text)
        text = api.client.post(
            f"/v1/commands/{command}",
            content=b"{}",
            headers={**api.auth(who), "Content-Type": "text/plain"},
        )
        _error(text, 415, "unsupported_media_type")
    assert set(ALLOWED) == set(COMMANDS)
    assert api.log_size() == before
