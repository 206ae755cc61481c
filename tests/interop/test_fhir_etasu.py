"""FHIR `$rems-etasu`, metadata and the OperationDefinition (INTEROP.md §3, §7 #13-#19): the
designed examples reproduced from real ledger answers, every fixture input answered, every
resource returned strict R4."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
import pytest
from fhir.resources.R4B.parameters import Parameters

from domain.catalogue import RULES
from domain.ruleset import RULESETS
from tests.interop.support import PATIENT_SYSTEM, Interop, fixture, strict_r4, walk
from tests.program import local

RULESET = RULESETS[-1].version
NCI = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
DR1, DR2, PH1, AUDITOR = "prescriber:DR1", "prescriber:DR2", "pharmacy:PH1", "auditor:A1"


def fhir_json(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The response's resource, after checking status, media type and strict R4."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/fhir+json; fhirVersion=4.0"
    body: dict[str, Any] = response.json()
    strict_r4(body)
    return body


def guidance(body: dict[str, Any]) -> dict[str, Any]:
    """The outer GuidanceResponse of a `rems-etasu` output."""
    assert [p["name"] for p in body["parameter"]] == ["rems-etasu"]
    resource: dict[str, Any] = body["parameter"][0]["resource"]
    return resource


def requirements(body: dict[str, Any]) -> dict[str, str]:
    """Rule ID -> nested status."""
    inner = guidance(body)["contained"][0]["parameter"]
    return {p["name"]: p["resource"]["status"] for p in inner if "resource" in p}


def output_value(body: dict[str, Any], name: str) -> Any:
    """A non-requirement output parameter's value (None when absent)."""
    for parameter in guidance(body)["contained"][0]["parameter"]:
        if parameter["name"] == name:
            return next(v for k, v in parameter.items() if k.startswith("value"))
    return None


def by_identifier(patient_id: str = "P1") -> dict[str, Any]:
    """The designed identifier input, naming `patient_id`."""
    body: dict[str, Any] = fixture("interop-examples/Parameters-rems-etasu-input.identifier.json")
    body["parameter"][0]["resource"]["identifier"][0]["value"] = patient_id
    return body


def by_number(number: str, name: str = "case_number") -> dict[str, Any]:
    """Parameters with only a case number, in one of its spellings."""
    return {"resourceType": "Parameters", "parameter": [{"name": name, "valueString": number}]}


def without_identifier(body: dict[str, Any]) -> dict[str, Any]:
    """An output with the fresh outer `urn:uuid` identifier removed, and the examples'
    stand-in rule-set version `2026-01` read as the ledger's (their README says so)."""
    copied: dict[str, Any] = orjson.loads(
        orjson.dumps(body).replace(b"/ruleset/2026-01", f"/ruleset/{RULESET}".encode())
    )
    del copied["parameter"][0]["resource"]["identifier"]
    for resource in walk(copied):
        for reason in resource.get("reasonCode", []):
            del reason["text"]  # the examples abridge the guide's words; see the test below
    return copied


def with_refill_code(example: dict[str, Any]) -> dict[str, Any]:
    """The example with A3's second NCI code, which §3.3's table gives it (C128510, "Do Not
    Prescribe Refills") and the example leaves out."""
    for resource in walk(example):
        if resource.get("identifier", [{}])[0].get("value") == "A3":
            resource["reasonCode"][0]["coding"].append(
                {"system": NCI, "code": "C128510", "display": "Do Not Prescribe Refills"}
            )
    return example


def test_requirement_texts_are_the_catalogues(interop: Interop) -> None:
    """Each requirement's reasonCode text is the rule catalogue's text of its rule."""
    interop.enroll_frp("P1")
    body = fhir_json(interop.etasu(DR1, by_identifier("P1")))
    for parameter in guidance(body)["contained"][0]["parameter"]:
        if "resource" in parameter:
            reason = parameter["resource"]["reasonCode"][0]
            assert reason["text"] == RULES[parameter["name"]].text


def test_metadata_is_the_designed_capability_statement(interop: Interop) -> None:
    """GET /fhir/metadata needs no token and answers the instance CapabilityStatement that
    instantiates the IG's REMS administrator requirements."""
    body = fhir_json(interop.client.get("/fhir/metadata"))
    expected = fixture("interop-examples/CapabilityStatement-metadata.json")
    expected["implementation"]["url"] = "http://testserver/fhir"
    assert body == expected
    ig = fixture("fhir/ig-stu2/CapabilityStatement-rems-administrator-system.json")
    assert body["instantiates"] == [ig["url"]]
    assert "security" not in body["rest"][0] or "service" not in body["rest"][0]["security"]


def test_operation_definition_is_served_at_its_path(interop: Interop) -> None:
    """The OperationDefinition the CapabilityStatement names is resolvable and is ours."""
    body = fhir_json(interop.client.get("/fhir/OperationDefinition/rems-etasu"))
    assert body == fixture("interop-examples/OperationDefinition-rems-etasu.json")


def test_K1_S2_T1_T2_T6_C1_C2_data_required_for_an_frp_with_only_enrollment(
    interop: Interop,
) -> None:
    """By REMS identifier: data-required with K1, S2, T1, T2, T6, C1, C2 unmet, exactly the
    designed example (but for the fresh identifier)."""
    interop.now = local("2026-03-02 10:30")
    interop.enroll_frp("P1")
    body = fhir_json(interop.etasu(DR1, by_identifier("P1")))
    expected = with_refill_code(
        fixture("interop-examples/Parameters-rems-etasu-output.data-required.json")
    )
    assert without_identifier(body) == without_identifier(expected)
    assert guidance(body)["identifier"][0]["value"].startswith("urn:uuid:")


def test_A1_A2_success_with_the_open_authorization_as_case_number(interop: Interop) -> None:
    """Every requirement met and an open authorization: success, `case_number` = RA-...,
    `authorization_expires` its expiry, as the designed example."""
    interop.now = local("2026-03-01 10:45")
    interop.ready_frp("P1")
    number = interop.authorize("P1")["authorization_number"]
    body = fhir_json(interop.etasu(DR1, by_identifier("P1")))
    expected = with_refill_code(
        fixture("interop-examples/Parameters-rems-etasu-output.success.json")
    )
    for parameter in expected["parameter"][0]["resource"]["contained"][0]["parameter"]:
        if parameter["name"] == "case_number":
            parameter["valueString"] = number
    assert without_identifier(body) == without_identifier(expected)


def test_A4_found_by_RA_and_RC_numbers_and_case_number_only_while_open(interop: Interop) -> None:
    """The patient is found by its authorization number in all three spellings and by a
    confirmation number; once confirmed, the authorization is used and `case_number` is gone."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    for name in ("case_number", "caseNumber", "authNumber"):
        body = fhir_json(interop.etasu(DR1, by_number(number.lower(), name)))
        assert output_value(body, "case_number") == number
        assert output_value(body, "rems_patient_id") == {"system": PATIENT_SYSTEM, "value": "P2"}
        assert guidance(body)["status"] == "success"
        assert "reference" not in guidance(body)["subject"]
    confirmation = interop.ok(
        PH1,
        "request_dispense_confirmation",
        pharmacy_id="PH1",
        patient_id="P2",
        authorization_number=number,
        days_supply=28,
    )
    body = fhir_json(interop.etasu(DR1, by_number(confirmation["confirmation_number"])))
    assert output_value(body, "case_number") is None
    assert output_value(body, "rems_patient_id")["value"] == "P2"


def test_pims_caseNumber_fixture_with_a_real_number(interop: Interop) -> None:
    """pims's `caseNumber` input, its value replaced by a real RA- number, finds the patient."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    body = fixture("fhir/pims/Parameters-rems-etasu-input.caseNumber.json")
    body["parameter"][0]["valueString"] = number
    assert output_value(fhir_json(interop.etasu(DR1, body)), "case_number") == number


@pytest.mark.parametrize(
    "name",
    [
        "fhir/lenalidomide/Parameters-rems-etasu-input.specification-page-lenalidomide.json",
        "fhir/lenalidomide/Parameters-rems-etasu-input.fsh-lenalidomide.json",
        "fhir/lenalidomide/Parameters-rems-etasu-input.pims-lenalidomide.json",
        "interop-examples/Parameters-rems-etasu-input.case-number.json",
    ],
)
def test_fixture_inputs_without_a_rems_identifier_answer_failure(
    interop: Interop, name: str
) -> None:
    """The IG's, pims's and our example inputs name no enrolled patient (demographics are never
    matched; `a24e73e53b2` is no ledger number): 200 `failure`, contained not-found, no subject."""
    interop.ready_male("P2")
    body = fhir_json(interop.etasu(DR1, fixture(name)))
    outer = guidance(body)
    assert outer["status"] == "failure"
    assert "subject" not in outer
    assert outer["contained"][0]["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(
    "name",
    [
        "fhir/ig-stu2/Parameters-parameters-rems-etasu-input.json",
        "fhir/ig-stu2/Parameters-rems-etasu-input.specification-page.json",
        "fhir/pims/Parameters-rems-etasu-input.patient-medication.json",
    ],
)
def test_isotretinoin_inputs_answer_failure_not_supported(interop: Interop, name: str) -> None:
    """The IG's and pims's isotretinoin inputs are not lenalidomide: failure, not-supported."""
    outer = guidance(fhir_json(interop.etasu(DR1, fixture(name))))
    assert outer["status"] == "failure"
    assert outer["contained"][0]["issue"][0]["code"] == "not-supported"


def test_medication_request_and_its_contained_medication_are_read(interop: Interop) -> None:
    """`medication` may be a MedicationRequest (the prototype's lenalidomide order)."""
    interop.ready_male("P2")
    body = by_identifier("P2")
    body["parameter"][1]["resource"] = fixture(
        "fhir/lenalidomide/MedicationRequest-pat017-mr-lenalidomide-28d.json"
    )
    assert guidance(fhir_json(interop.etasu(DR1, body)))["status"] == "success"


def test_P5_a_foreign_patient_gets_the_unknown_patients_answer(interop: Interop) -> None:
    """DR2 asking for DR1's patient gets the same body as for a patient that does not exist."""
    interop.enroll_frp("P1")
    foreign = fhir_json(interop.etasu(DR2, by_identifier("P1")))
    unknown = fhir_json(interop.etasu(DR2, by_identifier("NOBODY")))
    assert foreign == unknown
    assert fhir_json(interop.etasu(DR1, by_identifier("P1")))["parameter"] != foreign["parameter"]


def test_as_of_is_for_auditors_only(interop: Interop) -> None:
    """`as-of` from a pharmacy or prescriber is 403; an auditor gets the answer as the ledger
    knew it then (before the enrollment: failure)."""
    interop.advance(hours=1)
    interop.enroll_frp("P1")
    body = by_identifier("P1")
    body["parameter"].append({"name": "as-of", "valueDateTime": interop.now.isoformat()})
    for who in (PH1, DR1):
        outcome = fhir_json(interop.etasu(who, body), 403)
        assert outcome["issue"][0]["code"] == "forbidden"
    assert guidance(fhir_json(interop.etasu(AUDITOR, body)))["status"] == "data-required"
    body["parameter"][-1]["valueDateTime"] = "2026-03-01T09:30:00-05:00"
    assert guidance(fhir_json(interop.etasu(AUDITOR, body)))["status"] == "failure"
    body["parameter"][-1]["valueDateTime"] = "yesterday"
    assert fhir_json(interop.etasu(AUDITOR, body), 400)["issue"][0]["code"] == "invalid"


def test_D1_a_pharmacy_sees_it_and_only_patients_it_holds_a_number_for(interop: Interop) -> None:
    """A pharmacy presenting the RA- number gets D1 (success: an open authorization exists);
    by identifier alone, a patient it holds no confirmation for is not found."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    body = fhir_json(interop.etasu(PH1, by_number(number)))
    assert requirements(body)["D1"] == "success"
    assert guidance(fhir_json(interop.etasu(PH1, by_identifier("P2"))))["status"] == "failure"


def test_bad_requests_are_operation_outcomes(interop: Interop) -> None:
    """XML 415, not JSON / not Parameters / a wrong resource type 400 structure, nothing given
    400 required (the designed example), patient and number disagreeing 400 invalid, no token
    401 login."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    xml = b"<Parameters xmlns='http://hl7.org/fhir'/>"
    assert fhir_json(interop.etasu(DR1, xml, "application/fhir+xml"), 415)["issue"][0]["code"] == (
        "not-supported"
    )
    assert fhir_json(interop.etasu(DR1, b"{oops"), 400)["issue"][0]["code"] == "structure"
    patient = fixture("fhir/ig-stu2/Patient-example-patient-123.json")
    assert fhir_json(interop.etasu(DR1, patient), 400)["issue"][0]["code"] == "structure"
    wrong = by_identifier("P2")
    wrong["parameter"][0]["resource"] = fixture("fhir/ig-stu2/Practitioner-pra1234.json")
    assert fhir_json(interop.etasu(DR1, wrong), 400)["issue"][0]["code"] == "structure"
    empty = {"resourceType": "Parameters", "parameter": []}
    assert fhir_json(interop.etasu(DR1, empty), 400) == fixture(
        "interop-examples/OperationOutcome-invalid.json"
    )
    interop.enroll_frp("P1")
    disagree = by_identifier("P1")
    disagree["parameter"].append({"name": "case_number", "valueString": number})
    assert fhir_json(interop.etasu(DR1, disagree), 400)["issue"][0]["code"] == "invalid"
    response = interop.client.post("/fhir/GuidanceResponse/$rems-etasu", json=empty)
    assert fhir_json(response, 401)["issue"][0]["code"] == "login"
    assert response.headers["www-authenticate"] == "Bearer"


def test_get_with_case_number_unknown_paths_and_oversized_bodies(interop: Interop) -> None:
    """GET `?case_number=` works; unknown paths are 404 OperationOutcomes; > 1 MiB is 413."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    response = interop.client.get(
        "/fhir/GuidanceResponse/$rems-etasu",
        params={"case_number": number},
        headers=interop.auth(DR1),
    )
    assert output_value(fhir_json(response), "case_number") == number
    assert fhir_json(interop.client.get("/fhir/Patient/P2"), 404)["issue"][0]["code"] == "not-found"
    response = interop.client.post("/fhir/Patient/$everything")
    assert fhir_json(response, 404)["issue"][0]["code"] == "not-supported"
    big = by_identifier("P2")
    big["parameter"][0]["resource"]["text"] = {"status": "generated", "div": "x" * (1024 * 1024)}
    assert fhir_json(interop.etasu(DR1, big), 413)["issue"][0]["code"] == "too-costly"


def test_etasu_records_nothing_and_logs_no_phi(
    interop: Interop, caplog: pytest.LogCaptureFixture
) -> None:
    """The operation is a read; the access log has no name or birth date of the input."""
    interop.enroll_frp("P1")
    before = interop.log_size()
    with caplog.at_level(logging.INFO, logger="rems.api"):
        interop.etasu(DR1, by_identifier("P1"))
        interop.etasu(
            DR1, fixture("fhir/lenalidomide/Parameters-rems-etasu-input.pims-lenalidomide.json")
        )
    assert interop.log_size() == before
    assert "/fhir/GuidanceResponse/$rems-etasu 200" in caplog.text
    for phi in ("Roe", "Jane", "1990-05-01", "Snow", "1996-06-01"):
        assert phi not in caplog.text


def test_clients_that_know_only_the_ig_find_case_number_where_they_look(interop: Interop) -> None:
    """pims reads `rems-etasu.contained[0].parameter` and request-generator scans for
    `case_number`: the IG's, rems-admin's and our outputs all have that shape."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    ours = fhir_json(interop.etasu(DR1, by_number(number)))
    for body in (
        ours,
        fixture("fhir/ig-stu2/Parameters-parameters-rems-etasu-output.json"),
        fixture("fhir/ig-stu2/Parameters-rems-etasu-output.specification-page.json"),
        fixture("fhir/rems-admin/Parameters-rems-etasu-output.generated.json"),
    ):
        names = [p["name"] for p in body["parameter"][0]["resource"]["contained"][0]["parameter"]]
        assert "case_number" in names
    assert output_value(ours, "case_number") == number


def test_r4b_model_round_trips_what_we_send(interop: Interop) -> None:
    """The data sent equals the R4B model's own serialization of it (fhir_build skips the
    model's serializer only because it is the slower of the two)."""
    interop.enroll_frp("P1")
    body = fhir_json(interop.etasu(DR1, by_identifier("P1")))
    dumped = Parameters.model_validate(body).model_dump(mode="json", exclude_none=True)
    assert dumped == body
    assert len(walk(body)) > 10


def test_failure_for_an_unknown_patient_matches_the_example(interop: Interop) -> None:
    """No enrolled patient with that identifier: the designed failure answer exactly."""
    interop.now = local("2026-03-02 10:30")
    interop.enroll_frp("P1")
    body = fhir_json(interop.etasu(DR1, by_identifier("UNKNOWN")))
    expected = fixture("interop-examples/Parameters-rems-etasu-output.failure.json")
    assert orjson.dumps(body) == orjson.dumps(expected).replace(
        b"/ruleset/2026-01", f"/ruleset/{RULESET}".encode()
    )


def test_the_prototypes_isotretinoin_order_as_medication_is_not_supported(
    interop: Interop,
) -> None:
    """rems-admin's iPledge MedicationRequest as `medication`: failure, not-supported."""
    interop.ready_male("P2")
    body = by_identifier("P2")
    body["parameter"][1]["resource"] = fixture(
        "fhir/rems-admin/MedicationRequest-pat017-mr-IPledge.json"
    )
    outer = guidance(fhir_json(interop.etasu(DR1, body)))
    assert outer["status"] == "failure"
    assert outer["contained"][0]["id"] == "not-supported"
