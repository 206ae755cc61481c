"""Tree heads over HTTP for auditors (`/v1/sth`, `/v1/proofs/...`, `/v1/keys`) and the web
patient page's "verified against tree head N, signed by key K" (AUDIT-FORMAT.md §4-6)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from application.ledger import Ledger
from audit.keys import init_key, key_records
from audit.merkle import verify_consistency
from audit.tree_heads import signature_problem
from domain.registry import aggregate_id
from infra.settings import ClockMode, Settings
from tests.api_client import AUDITOR, COMPLIANCE, DR1, Http
from tests.e2e.test_web_pages import login, make_site
from tests.program import TZ, Program


def signed_ledger(folder: Path) -> Ledger:
    """A ledger with a signing key and two patients."""
    key_file = folder / "sign.pem"
    init_key(key_file)
    settings = Settings(
        database_url=f"sqlite:///{folder / 'rems.db'}",
        clock=ClockMode.EVENT,
        timezone=TZ,
        signing_key_file=key_file,
    )
    ledger = Ledger(settings)
    p = Program(ledger).participants()
    p.ready_male("PAT1")
    p.fill("PAT1")
    p.ready_male("PAT2")
    return ledger


def tmp_key(ledger: Ledger) -> Path:
    """The ledger's signing key file."""
    assert ledger.settings.signing_key_file is not None
    return ledger.settings.signing_key_file


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Http]:
    """The API over a signed ledger."""
    http = Http(signed_ledger(tmp_path))
    yield http
    http.close()


def test_auditors_get_a_signed_tree_head_and_proofs(api: Http) -> None:
    """An auditor's STH verifies under the published key; proofs against it are RFC 9162."""
    sth = api.get(AUDITOR, "/v1/sth").json()
    assert sth["tree_size"] == api.log_size()
    keys = api.get(AUDITOR, "/v1/keys").json()
    assert signature_problem(sth, keys) is None
    assert keys == key_records(tmp_key(api.ledger))
    size = sth["tree_size"]
    proof = api.get(COMPLIANCE, "/v1/proofs/inclusion/3", tree_size=str(size)).json()
    assert (proof["leaf_index"], proof["tree_size"]) == (2, size)
    same = api.get(AUDITOR, "/v1/proofs/consistency", first=str(size), second=str(size)).json()
    assert same == {"first": size, "second": size, "proof": []}
    root = bytes.fromhex(sth["root_hash"])
    assert verify_consistency(size, size, root, root, [])


def test_a_prescriber_may_not_read_tree_heads(api: Http) -> None:
    """Tree heads and proofs are program-wide reads: 403 for a prescriber."""
    for path in ("/v1/sth", "/v1/keys"):
        assert api.get(DR1, path).status_code == 403
    assert api.get(DR1, "/v1/proofs/consistency", first="1", second="2").status_code == 403


def test_a_size_beyond_the_log_is_422_with_a_clear_message(api: Http) -> None:
    """A proof against a tree the log never had is `invalid`, naming the sizes there are."""
    response = api.get(AUDITOR, "/v1/proofs/inclusion/1", tree_size="100000")
    assert response.status_code == 422
    assert "sizes 1 to" in response.json()["error"]["message"]
    response = api.get(AUDITOR, "/v1/proofs/consistency", first="5", second="100000")
    assert response.status_code == 422


def test_the_patient_page_says_which_tree_head_verified_it(tmp_path: Path) -> None:
    """The page shows "verified against tree head N, signed by key K"; after the patient's
    stored event is altered it shows NOT verified."""
    ledger = signed_ledger(tmp_path)
    app, tokens = make_site(ledger)
    try:
        client = TestClient(app, follow_redirects=False)
        assert login(client, tokens["auditor"]).status_code == 303
        page = client.get("/ui/patients/PAT1").text
        size = ledger.notifications.end()
        key_id = key_records(tmp_key(ledger))[0]["key_id"]
        assert f"verified against tree head {size}, signed by key {key_id[:16]}" in page
        patient = aggregate_id("patient", "PAT1")
        with sqlite3.connect(tmp_path / "rems.db") as db:
            (state,) = db.execute(
                "SELECT state FROM stored_events WHERE originator_id = ? "
                "AND originator_version = 1",
                (patient.hex,),
            ).fetchone()
            db.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? "
                "AND originator_version = 1",
                (
                    bytes(state).replace(b'"actor":"batch"', b'"actor":"forgd"'),
                    aggregate_id("patient", "PAT1").hex,
                ),
            )
        assert "NOT verified against tree head" in client.get("/ui/patients/PAT1").text
    finally:
        app.state.api.close()


def test_without_a_signing_key_there_is_no_tree_head_to_give(tmp_path: Path) -> None:
    """No REMS_SIGNING_KEY_FILE: `/v1/sth` and `/v1/keys` are 404 saying so; proofs still
    answer (they need no key)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'rems.db'}", clock=ClockMode.EVENT, timezone=TZ
    )
    http = Http(Ledger(settings))
    try:
        Program(http.ledger).participants()
        for path in ("/v1/sth", "/v1/keys"):
            response = http.get(AUDITOR, path)
            assert response.status_code == 404
            assert "no signing key" in response.json()["error"]["message"]
        proof = http.get(AUDITOR, "/v1/proofs/inclusion/1", tree_size="1")
        assert proof.json() == {"leaf_index": 0, "tree_size": 1, "audit_path": []}
    finally:
        http.close()
