"""Conformance (INTEROP.md §6, layer 3): the HAPI FHIR 8.6.1 R4 validator, from Maven Central
and run offline with the machine's Java, over every kind of resource the FHIR endpoint answers:
metadata, the OperationDefinition, success, data-required (prescriber and pharmacy), both
failures, and the OperationOutcome of every error status. Errors fail; warnings (no narrative
on generated resources, our own code systems unknown offline) are allowed. One JVM run (about
40 s of CPU): marked `fhir_validator`, so a quick local run can leave it out with
`-m "not fhir_validator"`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from devtools.fhir_validator import ensure_libs, validate
from tests.interop.support import Interop, fixture


@pytest.mark.fhir_validator
def test_every_resource_we_answer_passes_the_hapi_r4_validator(
    interop: Interop, tmp_path: Path
) -> None:
    """Every resource kind of /fhir validates against the core R4 definitions."""
    interop.enroll_frp("P1")
    interop.ready_male("P2")
    number = interop.ok(
        "prescriber:DR1",
        "request_authorization",
        patient_id="P2",
        prescriber_id="DR1",
        daily_dose_mg=10,
        days_supply=28,
        refills=0,
        channel="electronic",
    )["authorization_number"]
    identifier = fixture("interop-examples/Parameters-rems-etasu-input.identifier.json")
    by_number = {
        "resourceType": "Parameters",
        "parameter": [{"name": "case_number", "valueString": number}],
    }
    answers: dict[str, httpx.Response] = {
        "metadata": interop.client.get("/fhir/metadata"),
        "operation-definition": interop.client.get("/fhir/OperationDefinition/rems-etasu"),
        "data-required": interop.etasu("prescriber:DR1", identifier),
        "success": interop.etasu("prescriber:DR1", by_number),
        "pharmacy": interop.etasu("pharmacy:PH1", by_number),
        "failure-not-found": interop.etasu("prescriber:DR2", identifier),
        "failure-not-supported": interop.etasu(
            "prescriber:DR1", fixture("fhir/ig-stu2/Parameters-parameters-rems-etasu-input.json")
        ),
        "400-required": interop.etasu("prescriber:DR1", {"resourceType": "Parameters"}),
        "400-structure": interop.etasu("prescriber:DR1", b"[]"),
        "401": interop.client.post("/fhir/GuidanceResponse/$rems-etasu", json={}),
        "404": interop.client.get("/fhir/Patient/P1"),
        "415": interop.etasu("prescriber:DR1", b"<x/>", "application/fhir+xml"),
    }
    files = []
    for name, response in answers.items():
        body: Any = response.json()
        assert body["resourceType"] in {
            "CapabilityStatement",
            "OperationDefinition",
            "Parameters",
            "OperationOutcome",
        }, name
        path = tmp_path / f"{name}.json"
        path.write_bytes(orjson.dumps(body))
        files.append(path)
    broken = orjson.loads(files[3].read_bytes())
    del broken["parameter"][0]["resource"]["status"]  # proves the validator is not vacuous
    (tmp_path / "broken.json").write_bytes(orjson.dumps(broken))
    report = validate([*files, tmp_path / "broken.json"], ensure_libs())
    errors = report.errors()
    assert errors
    assert all("broken.json" in line for line in errors), errors
