"""No input can break a record (issue 10, "Tests that prove it"): generated command JSON at every
depth — from the commands' own JSON Schemas, with wrong types, huge and tiny numbers, odd
Unicode, deep nesting and repeated keys — through `rems apply`'s path and over HTTP never gives
a traceback or a 5xx, every `invalid` names a field and records nothing, and afterwards every
query of every patient still answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from application.batch import apply_lines
from application.queries import eligibility, history
from application.views import Views
from audit.record import render
from entrypoints.http.policy import COMMANDS_BY_ROLE
from entrypoints.http.tokens import Principal, Role
from entrypoints.web.patient import load_patient_view, render_patient
from tests.api_client import COMPLIANCE, DR1, PH1, Http, frp_form
from tests.command_strategies import Line, command_lines
from tests.conftest import make_ledger

CODES = {"invalid", "not_found", "denied", "conflict", "duplicate"}
FUZZ = settings(
    max_examples=min(settings().max_examples, 40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
"""The loaded profile (conftest.py), at most 40 examples per path: the suite stays quick."""
CALLER = {Role.COMPLIANCE: COMPLIANCE, Role.PRESCRIBER: DR1, Role.PHARMACY: PH1}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Http]:
    """A program to fuzz: DR1/DR2, PH1/PH2, an FRP (PAT1) authorized and confirmed, a man
    (PAT2) and a girl not yet menstruating (KID1)."""
    api = Http(make_ledger(f"sqlite:///{tmp_path / 'rems.db'}"))
    api.participants()
    api.ready_frp("PAT1")
    number = api.authorize("PAT1")["authorization_number"]
    api.ok(PH1, "request_dispense_confirmation", pharmacy_id="PH1", patient_id="PAT1",
           authorization_number=number, days_supply=28)  # fmt: skip
    male = {**frp_form("PAT2"), "sex": "male", "name": "Sam Male"}
    male.pop("menstruation")
    api.ok(DR1, "enroll_patient", **male)
    guardian = {"name": "Gia Guardian", "signed": True, "signed_on": "2026-03-01"}
    girl = {**frp_form("KID1"), "name": "Kit Kid", "date_of_birth": "2014-06-01",
            "menstruation": "not_started", "patient_signed": False,
            "guardian": guardian}  # fmt: skip
    api.ok(DR1, "enroll_patient", **girl)
    yield api
    api.close()


def assert_contract(result: dict[str, Any], recorded_before: int, recorded_after: int) -> None:
    """A result of the contract: ok, or a known code with a message and reasons; an `invalid`
    names a field and recorded nothing."""
    assert isinstance(result.get("ok"), bool), result
    if result["ok"]:
        return
    error = result["error"]
    assert error["code"] in CODES, result
    assert error["message"], result
    assert isinstance(error["reasons"], list), result
    if error["code"] == "invalid":
        assert error.get("field"), result
        assert recorded_after == recorded_before, result


def read_back_every_patient(api: Http) -> None:
    """Eligibility (live and read model), history, export (JSON, HTML) and the web page of
    every patient answer."""
    ledger = api.ledger
    compliance = Principal(token_id="tok_fuzz", role=Role.COMPLIANCE, subject="S1")
    with Views(ledger) as views:
        queue = views.due(api.now)
        assert queue["on"]
        views.runner.catch_up()
        with views.database.transaction() as cursor:
            rows = cursor.fetchall("SELECT patient_id FROM eligibility_patients")
        patient_ids = sorted(str(r[0]) for r in rows)
        assert {"PAT1", "PAT2", "KID1"} <= set(patient_ids)
        for patient_id in patient_ids:
            assert eligibility(ledger, patient_id, api.now)["patient_id"] == patient_id
            assert views.eligibility(patient_id, api.now)["patient_id"] == patient_id
            assert history(ledger, patient_id)["events"]
            assert orjson.loads(render(ledger, patient_id, "json"))["patient_id"] == patient_id
            assert render(ledger, patient_id, "html")
            page = render_patient(load_patient_view(ledger, views, patient_id, None), compliance)
            assert page.status_code == 200
            response = api.get(COMPLIANCE, f"/v1/patients/{patient_id}/eligibility")
            assert response.status_code == 200, response.text


def test_generated_commands_through_rems_apply_never_break_a_record(world: Http) -> None:
    """Through `rems apply`'s path (one line at a time), any generated command is answered by
    the contract; afterwards every patient reads back."""

    @FUZZ
    @given(line=command_lines())
    def apply_one(line: Line) -> None:
        world.advance(minutes=1)
        before = world.log_size()
        (result,) = apply_lines(world.ledger, [line.raw(world.now.isoformat())])
        assert result["line"] == 1
        assert_contract(result, before, world.log_size())

    apply_one()
    read_back_every_patient(world)


def test_generated_commands_over_http_are_never_a_5xx(world: Http) -> None:
    """Over HTTP, as a role allowed to send the command, any generated body is answered without
    a 5xx; a 422 names a field and records nothing; afterwards every patient reads back."""

    @FUZZ
    @given(line=command_lines())
    def post_one(line: Line) -> None:
        world.advance(minutes=1)
        role = next(r for r, names in COMMANDS_BY_ROLE.items() if line.name in names)
        before = world.log_size()
        response = world.client.post(
            f"/v1/commands/{line.name}",
            content=line.raw(world.now.isoformat(), with_command=False),
            headers={**world.auth(CALLER[role]), "Content-Type": "application/json"},
        )
        assert response.status_code < 500, response.text
        body = response.json()
        assert body["ok"] in (True, False), body
        if response.status_code == 422:
            assert body["error"]["code"] == "invalid", body
            assert body["error"].get("field"), body
            assert world.log_size() == before, body
        elif response.status_code in (200, 404, 409):
            assert_contract(body, before, world.log_size())

    post_one()
    read_back_every_patient(world)
