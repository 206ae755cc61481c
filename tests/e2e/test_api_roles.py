"""Roles and scope on every endpoint (issue 6, point 2, and "Bad input and abuse"): a prescriber
acts only for itself and its own patients, a pharmacy only asks for confirmation numbers, records
dispenses (as itself) and reads what a dispense needs, compliance staff read everything and manage
certifications, an auditor reads everything and changes nothing. A forbidden request is 403 with
the contract's error shape and records nothing. Expectations follow rems/api/policy.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.commands import COMMANDS
from tests.api_client import (
    AUDITOR,
    COMPLIANCE,
    DR1,
    DR2,
    PH1,
    PH2,
    Http,
    frp_form,
)
from tests.builders import AUTH_REQUEST
from tests.conftest import make_ledger
from tests.program import ALL_TOPICS

PRESCRIBER, PHARMACY = "prescriber", "pharmacy"
ROLES = {PRESCRIBER: DR1, PHARMACY: PH1, "compliance": COMPLIANCE, "auditor": AUDITOR}

# Who may send each command (policy.py; the words: compliance manages certifications,
# prescribers record their own patients' facts, pharmacies confirm and dispense, auditors
# change nothing).
ALLOWED: dict[str, set[str]] = {
    "register_prescriber": {"compliance"},
    "certify_prescriber": {"compliance"},
    "suspend_prescriber": {"compliance"},
    "certify_pharmacy": {"compliance"},
    "suspend_pharmacy": {"compliance"},
    "enroll_patient": {PRESCRIBER},
    "update_reproductive_status": {PRESCRIBER},
    "record_counseling": {PRESCRIBER},
    "record_contraception": {PRESCRIBER},
    "record_pregnancy_test": {PRESCRIBER},
    "record_patient_survey": {PRESCRIBER},
    "request_authorization": {PRESCRIBER},
    "request_dispense_confirmation": {PHARMACY},
    "record_dispense": {PHARMACY},
    "report_pregnancy": {PRESCRIBER, "compliance"},
    "record_menstrual_abnormality": {PRESCRIBER},
    "discontinue_therapy": {PRESCRIBER},
    "record_cbc": {PRESCRIBER},
    "record_capsule_return": {PRESCRIBER, PHARMACY},
    "change_prescriber": {"compliance"},
    "resolve_pregnancy_report": {"compliance"},
    "review_possible_duplicate": {"compliance"},
}

# A body in the caller's own scope (DR1's patient PAT1, PH1 as itself); suspensions name the
# other participants so the scope of later rows never changes.
BODIES: dict[str, dict[str, Any]] = {
    "register_prescriber": {"prescriber_id": "DR3", "name": "Dr Three", "address": "3 Way",
                            "fax": "555-0103"},
    "certify_prescriber": {"prescriber_id": "DR1"},
    "suspend_prescriber": {"prescriber_id": "DR2", "reason": "audit"},
    "certify_pharmacy": {"pharmacy_id": "PH1", "name": "Main Pharmacy", "address": "2 Main St"},
    "suspend_pharmacy": {"pharmacy_id": "PH2", "reason": "audit"},
    "enroll_patient": frp_form("PAT5", "DR1"),
    "update_reproductive_status": {"patient_id": "PAT1", "menstruation": "regular"},
    "record_counseling": {"patient_id": "PAT1", "prescriber_id": "DR1", "topics": ALL_TOPICS},
    "record_contraception": {"patient_id": "PAT1", "methods": ["iud", "male_condom"],
                             "started_on": "2026-01-20"},
    "record_pregnancy_test": {"patient_id": "PAT1", "collected_at": "$now", "result": "negative",
                              "sensitivity_miu_per_ml": 25},
    "record_patient_survey": {"patient_id": "PAT1", "compliant": True},
    "request_authorization": AUTH_REQUEST,
    "request_dispense_confirmation": {"pharmacy_id": "PH1", "patient_id": "PAT1",
                                      "authorization_number": "$auth", "days_supply": 28},
    "record_dispense": {"pharmacy_id": "PH1", "confirmation_number": "$conf",
                        "medication_guide_provided": True, "counseled": True, "capsules": 28},
    "report_pregnancy": {"patient_id": "PAT1", "suspected_on": "$today",
                         "reported_to_medwatch": True, "reported_to_rems": True},
    "record_menstrual_abnormality": {"patient_id": "PAT1", "noted_on": "$today"},
    "discontinue_therapy": {"patient_id": "PAT1", "last_dose_on": "$today", "reason": "done"},
    "record_cbc": {"patient_id": "PAT1", "collected_at": "$now"},
    "record_capsule_return": {"patient_id": "PAT1", "capsules": 2, "returned_to": "$place"},
    "change_prescriber": {"patient_id": "PAT1", "prescriber_id": "DR1"},
    "review_possible_duplicate": {"patient_id": "PAT1", "other_patient_id": "PAT2",
                                  "finding": "distinct_people", "evidence": "reviewed"},
    "resolve_pregnancy_report": {"patient_id": "PAT1", "resolution": "not_pregnant",
                                 "evidence": "negative serum test", "resolved_on": "$today"},
}  # fmt: skip

READS_ALL = {PRESCRIBER, PHARMACY, "compliance", "auditor"}
READERS = {"compliance", "auditor"}
# Who may read each query (about DR1's own patient PAT1 where a patient is named).
QUERIES: dict[str, tuple[str, dict[str, str], set[str]]] = {
    "eligibility": ("/v1/patients/PAT1/eligibility", {}, READS_ALL),
    "eligibility as of": ("/v1/patients/PAT1/eligibility", {"as_of": "2026-03-13"}, READS_ALL),
    "history": ("/v1/patients/PAT1/history", {}, READERS | {PRESCRIBER}),
    "history as of": ("/v1/patients/PAT1/history", {"as_of": "2026-03-13"}, READERS | {PRESCRIBER}),
    "export json": ("/v1/patients/PAT1/export", {"format": "json"}, READERS | {PRESCRIBER}),
    "export html": ("/v1/patients/PAT1/export", {"format": "html"}, READERS | {PRESCRIBER}),
    "replay": ("/v1/decisions/$auth/replay", {}, READERS | {PRESCRIBER}),
    "due": ("/v1/due", {}, READERS),
    "report": ("/v1/report", {}, READERS),
    "verify": ("/v1/verify", {}, READERS),
    "digest": ("/v1/digest", {}, READERS),
}
CONTRACT_CODES = {"invalid", "not_found", "denied", "conflict", "duplicate"}
PATIENT_COMMANDS = [n for n, body in BODIES.items() if body.get("patient_id") == "PAT1"]


def _fill(fields: dict[str, Any], api: Http, numbers: dict[str, str], role: str) -> dict[str, Any]:
    """Replace placeholders: the clock, the issued numbers, the capsule return place."""
    values = {
        "$now": api.now.isoformat(),
        "$today": api.now.date().isoformat(),
        "$place": "pharmacy" if role == PHARMACY else "prescriber",
        **numbers,
    }
    return {k: values.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}


class World:
    """One app: DR1's FRP patient PAT1 authorized and confirmed at PH1 (not yet dispensed),
    DR2's patient PAT2, and the numbers issued."""

    def __init__(self, api: Http) -> None:
        self.api = api
        api.participants()
        api.ready_frp("PAT1", DR1)
        auth = api.authorize("PAT1", DR1)
        confirmation = api.ok(
            PH1,
            "request_dispense_confirmation",
            pharmacy_id="PH1",
            patient_id="PAT1",
            authorization_number=auth["authorization_number"],
            days_supply=28,
        )
        api.ok(DR2, "enroll_patient", **frp_form("PAT2", "DR2"))
        self.numbers = {
            "$auth": auth["authorization_number"],
            "$conf": confirmation["confirmation_number"],
        }

    def post(self, who: str, command: str, fields: dict[str, Any]) -> Any:
        """POST a command as `role:subject` with its placeholders filled."""
        role = who.partition(":")[0]
        return self.api.post(who, command, **_fill(fields, self.api, self.numbers, role))

    def history(self, patient_id: str) -> Any:
        """The patient's history as compliance reads it."""
        response = self.api.get(COMPLIANCE, f"/v1/patients/{patient_id}/history")
        assert response.status_code == 200
        return response.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app shared by the matrix (forbidden rows record nothing; allowed rows stay in
    scope)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('roles') / 'rems.db'}"
    api = Http(make_ledger(url))
    yield World(api)
    api.close()


@pytest.fixture
def fresh(sqlite_url: str) -> Iterator[World]:
    """A world of its own for one test."""
    api = Http(make_ledger(sqlite_url))
    yield World(api)
    api.close()


def assert_forbidden(response: Any) -> None:
    """403 in the contract's error shape."""
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == "forbidden"
    assert body["error"]["message"]
    assert body["error"]["reasons"] == []


def test_the_matrix_covers_every_command() -> None:
    """The tables name every command of the contract exactly once."""
    assert set(ALLOWED) == set(COMMANDS) == set(BODIES)


@pytest.mark.parametrize("command", list(ALLOWED))
@pytest.mark.parametrize("role", list(ROLES))
def test_command_matrix(world: World, role: str, command: str) -> None:
    """Each role and command in the caller's own scope: allowed ones pass the guard (any answer
    but 401/403), the others are 403 and record nothing."""
    api = world.api
    api.advance(minutes=1)
    before = api.log_size()
    response = world.post(ROLES[role], command, BODIES[command])
    if role in ALLOWED[command]:
        assert response.status_code not in (401, 403, 500), response.text
        result = response.json()
        assert result["ok"] or result["error"]["code"] in CONTRACT_CODES, result
    else:
        assert_forbidden(response)
        assert api.log_size() == before


@pytest.mark.parametrize("query", list(QUERIES))
@pytest.mark.parametrize("role", list(ROLES))
def test_query_matrix(world: World, role: str, query: str) -> None:
    """Each role and query: allowed ones answer 200, the others 403; no query records anything."""
    path, params, allowed = QUERIES[query]
    before = world.api.log_size()
    response = world.api.get(ROLES[role], path.replace("$auth", world.numbers["$auth"]), **params)
    if role in allowed:
        assert response.status_code == 200, response.text
    else:
        assert_forbidden(response)
    assert world.api.log_size() == before


def test_a_prescriber_never_acts_for_another_prescriber(fresh: World) -> None:
    """DR1 naming DR2 as `prescriber_id` (enrolling a new patient, counseling or requesting an
    authorization for its own patient) is 403 and records nothing."""
    api = fresh.api
    before = api.log_size()
    assert_forbidden(fresh.post(DR1, "enroll_patient", frp_form("PAT7", "DR2")))
    assert_forbidden(
        fresh.post(
            DR1, "record_counseling", {**BODIES["record_counseling"], "prescriber_id": "DR2"}
        )
    )
    assert_forbidden(
        fresh.post(DR1, "request_authorization", {**AUTH_REQUEST, "prescriber_id": "DR2"})
    )
    assert api.log_size() == before
    assert api.get(COMPLIANCE, "/v1/patients/PAT7/history").status_code == 404


def test_a_prescriber_never_touches_another_prescribers_patient(fresh: World) -> None:
    """DR2 sending any patient command about DR1's PAT1 (even naming itself as prescriber), or
    re-enrolling PAT1, is 403; PAT1's history is unchanged and nothing at all is recorded; DR2
    cannot read PAT1's eligibility, history, export or decisions either."""
    api = fresh.api
    history_before, log_before = fresh.history("PAT1"), api.log_size()
    for command in PATIENT_COMMANDS:
        fields = dict(BODIES[command])
        if "prescriber_id" in fields:
            fields["prescriber_id"] = "DR2"
        if command == "record_capsule_return":
            fields["returned_to"] = "prescriber"
        assert_forbidden(fresh.post(DR2, command, fields))
    assert_forbidden(fresh.post(DR2, "enroll_patient", frp_form("PAT1", "DR2")))
    assert fresh.history("PAT1") == history_before
    assert api.log_size() == log_before
    for path in ("eligibility", "history", "export"):
        assert_forbidden(api.get(DR2, f"/v1/patients/PAT1/{path}"))
    assert_forbidden(api.get(DR2, f"/v1/decisions/{fresh.numbers['$auth']}/replay"))


def test_an_unknown_patient_is_answered_like_another_prescribers(fresh: World) -> None:
    """A prescriber asking about a patient ID that does not exist gets the same 403 as for
    another prescriber's patient, so IDs cannot be probed; compliance gets 404."""
    api = fresh.api
    for path in ("eligibility", "history", "export"):
        unknown = api.get(DR2, f"/v1/patients/NOPE/{path}")
        other = api.get(DR2, f"/v1/patients/PAT1/{path}")
        assert_forbidden(unknown)
        assert_forbidden(other)
        assert api.get(COMPLIANCE, f"/v1/patients/NOPE/{path}").status_code == 404
    assert_forbidden(fresh.post(DR2, "record_cbc", {"patient_id": "NOPE", "collected_at": "$now"}))


def test_scope_follows_the_prescriber_of_record(fresh: World) -> None:
    """After compliance changes PAT1's prescriber to DR2, DR1 is 403 on PAT1 and DR2 may act."""
    api = fresh.api
    api.ok(COMPLIANCE, "change_prescriber", patient_id="PAT1", prescriber_id="DR2")
    assert_forbidden(fresh.post(DR1, "record_cbc", BODIES["record_cbc"]))
    assert_forbidden(api.get(DR1, "/v1/patients/PAT1/history"))
    assert fresh.post(DR2, "record_cbc", BODIES["record_cbc"]).status_code == 200
    assert api.get(DR2, "/v1/patients/PAT1/history").status_code == 200


def test_a_pharmacy_never_acts_as_another_pharmacy(fresh: World) -> None:
    """PH2 asking for a confirmation or recording a dispense as PH1 is 403; a capsule return
    not to a pharmacy is 403; nothing is recorded. As itself, PH2 recording PH1's confirmation
    reaches the ledger, which denies it (D1)."""
    api = fresh.api
    before = api.log_size()
    assert_forbidden(
        fresh.post(PH2, "request_dispense_confirmation", BODIES["request_dispense_confirmation"])
    )
    assert_forbidden(fresh.post(PH2, "record_dispense", BODIES["record_dispense"]))
    assert_forbidden(
        fresh.post(
            PH2,
            "record_capsule_return",
            {"patient_id": "PAT1", "capsules": 2, "returned_to": "rems"},
        )
    )
    assert api.log_size() == before
    as_itself = fresh.post(
        PH2, "record_dispense", {**BODIES["record_dispense"], "pharmacy_id": "PH2"}
    )
    assert as_itself.status_code == 409, as_itself.text
    assert [r["rule"] for r in as_itself.json()["error"]["reasons"]] == ["D1"]


def test_a_pharmacy_reads_only_what_a_dispense_needs(fresh: World) -> None:
    """A pharmacy reads a patient's eligibility only with the patient's authorization number
    or a confirmation it holds (RULES.md, "Pharmacy reads"), and nothing else about a patient
    or the program."""
    api = fresh.api
    assert_forbidden(api.get(PH2, "/v1/patients/PAT1/eligibility"))
    assert_forbidden(api.get(PH2, "/v1/patients/PAT2/eligibility"))
    for path in (
        "/v1/patients/PAT1/history",
        "/v1/patients/PAT1/export",
        "/v1/due",
        "/v1/report",
        "/v1/verify",
        "/v1/digest",
    ):
        assert_forbidden(api.get(PH2, path))


def test_an_auditor_posting_anything_is_403(fresh: World) -> None:
    """Every command sent with an auditor's token is 403 and the ledger records nothing, even
    with an Idempotency-Key."""
    api = fresh.api
    before = api.log_size()
    for command, fields in BODIES.items():
        response = api.post(
            AUDITOR,
            command,
            headers={"Idempotency-Key": f"audit-{command}"},
            **_fill(fields, api, fresh.numbers, "auditor"),
        )
        assert_forbidden(response)
    assert api.log_size() == before


def test_compliance_reads_everything(fresh: World) -> None:
    """Compliance staff read every patient's eligibility, history, export and decisions (by
    number and by PATIENT@VERSION) and every program-wide query."""
    api = fresh.api
    history = fresh.history("PAT1")
    issued = next(e["version"] for e in history["events"] if e["type"] == "AuthorizationIssued")
    paths = [
        f"/v1/patients/{patient}/{what}"
        for patient in ("PAT1", "PAT2")
        for what in ("eligibility", "history", "export", "export?format=html")
    ]
    paths += [
        f"/v1/decisions/{fresh.numbers['$auth']}/replay",
        f"/v1/decisions/{fresh.numbers['$conf']}/replay",
        f"/v1/decisions/PAT1@{issued}/replay",
        "/v1/due",
        "/v1/report",
        "/v1/verify",
        "/v1/digest",
    ]
    for path in paths:
        response = api.client.get(path, headers=api.auth(COMPLIANCE))
        assert response.status_code == 200, (path, response.text)


def test_a_padded_patient_id_does_not_reach_an_active_patient(fresh: World) -> None:
    """Another prescriber's patient ID padded with whitespace is the same patient: enrolling it
    is 403, reveals nothing of that patient, and records nothing."""
    before = fresh.api.log_size()
    response = fresh.post(DR1, "enroll_patient", frp_form("PAT2 ", "DR1"))
    assert "risk_category" not in response.text
    assert_forbidden(response)
    assert fresh.api.log_size() == before


def test_a_padded_patient_id_does_not_take_over_a_lapsed_patient(fresh: World) -> None:
    """After another prescriber's patient lapses (E6, no dispense for 12 months), re-enrolling
    it under a padded ID is 403, records nothing, and the patient stays the other's."""
    api = fresh.api
    api.advance(days=400)
    before = api.log_size()
    assert_forbidden(fresh.post(DR1, "enroll_patient", frp_form(" PAT2", "DR1")))
    assert api.log_size() == before
    assert_forbidden(api.get(DR1, "/v1/patients/PAT2/history"))
    assert api.get(DR2, "/v1/patients/PAT2/history").status_code == 200


def test_replay_by_patient_reference_does_not_probe_other_patients(fresh: World) -> None:
    """A prescriber replaying `PATIENT@VERSION` of a patient outside its care gets 403 whether
    the patient exists, the version exists, or neither."""
    for reference in ("PAT1@1", "PAT1@999", "NOPE@1"):
        assert_forbidden(fresh.api.get(DR2, f"/v1/decisions/{reference}/replay"))
