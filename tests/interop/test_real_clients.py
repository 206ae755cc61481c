"""Real clients against a real server (INTEROP.md §6): `rems serve` in a subprocess on a free
127.0.0.1 port, system clock, SQLite; fhirclient and fhirpy for metadata and `$rems-etasu`,
httpx with a JWT signed by a P-384 key made here for CDS Hooks, and the pharmacy check."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fhirclient import client as fhir_client  # type: ignore[import-untyped]  # fhirclient ships no type hints
from fhirpy import SyncFHIRClient

from tests.api_client import frp_form
from tests.e2e.test_api_serve import (
    Store,
    create_token,
    free_port,
    rems_env,
    stop_serving,
    wait_until_serving,
)
from tests.interop.support import PATIENT_SYSTEM, PRESCRIBER_SYSTEM, fixture, strict_r4

ISSUER = "https://ehr.example.org"


class Running:
    """A served ledger, its tokens, and the EHR's signing key."""

    def __init__(
        self,
        base: str,
        tokens: dict[str, str],
        key: ec.EllipticCurvePrivateKey,
        process: subprocess.Popen[bytes],
        log: Path,
    ) -> None:
        self.base, self.tokens, self.key, self.process, self.log = base, tokens, key, process, log

    def auth(self, role: str) -> dict[str, str]:
        """The Authorization header of a role's token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def cds_jwt(self, path: str) -> str:
        """A CDS Hooks client JWT for exactly this URL."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": ISSUER,
            "aud": self.base + path,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "k1"})


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Running]:
    """`rems serve` with one allow-listed EHR (REMS_CDS_CLIENTS=@FILE), compliance, DR1 and
    PH1 tokens made by the CLI."""
    store = Store(url=f"sqlite:///{tmp_path / 'rems.db'}", path=tmp_path / "rems.db", cwd=tmp_path)
    tokens = {
        role: create_token(store.url, store.cwd, role, subject)["token"]
        for role, subject in (("compliance", "S1"), ("prescriber", "DR1"), ("pharmacy", "PH1"))
    }
    key = ec.generate_private_key(ec.SECP384R1())
    public = orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    public["kid"] = "k1"
    clients = tmp_path / "cds-clients.json"
    clients.write_bytes(orjson.dumps([{"iss": ISSUER, "jwks": {"keys": [public]}}]))
    env = {**rems_env(store.url), "REMS_CDS_CLIENTS": f"@{clients}"}
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    running = Running(f"http://127.0.0.1:{port}", tokens, key, process, log)
    try:
        wait_until_serving(running.base, process, log.read_text, 30)
        yield running
    finally:
        stop_serving(process)


def seed(http: httpx.Client, running: Running) -> str:
    """DR1 and PH1 certified, P2 an adult male enrolled and counseled, authorized: the RA-."""
    compliance, dr1 = running.auth("compliance"), running.auth("prescriber")
    steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (
            "register_prescriber",
            {"prescriber_id": "DR1", "name": "Dr One", "address": "1 Way", "fax": "555"},
            compliance,
        ),
        ("certify_prescriber", {"prescriber_id": "DR1"}, compliance),
        ("certify_pharmacy", {"pharmacy_id": "PH1", "name": "Ph", "address": "2 St"}, compliance),
        (
            "enroll_patient",
            {**{k: v for k, v in frp_form("P2").items() if k != "menstruation"}, "sex": "male"},
            dr1,
        ),
        (
            "record_counseling",
            {
                "patient_id": "P2",
                "prescriber_id": "DR1",
                "topics": [
                    "benefits_and_risks",
                    "birth_defects",
                    "no_sharing",
                    "no_blood_donation",
                    "contraception",
                    "emergency_contraception",
                    "capsule_handling",
                    "capsule_return",
                    "resource_pack",
                ],
            },
            dr1,
        ),
        (
            "request_authorization",
            {
                "patient_id": "P2",
                "prescriber_id": "DR1",
                "daily_dose_mg": 10,
                "days_supply": 28,
                "refills": 0,
                "channel": "electronic",
            },
            dr1,
        ),
    ]
    result: dict[str, Any] = {}
    for command, body, headers in steps:
        response = http.post(f"/v1/commands/{command}", json=body, headers=headers)
        assert response.status_code == 200, response.text
        result = response.json()
    number: str = result["authorization_number"]
    return number


def test_fhir_clients_cds_hooks_and_the_pharmacy_check_over_real_http(served: Running) -> None:
    """fhirclient prepares from /fhir/metadata and posts `$rems-etasu`; fhirpy executes it;
    an EHR calls order-sign with its signed JWT; a pharmacy gets a confirmation number; the
    server's log carries none of the patient's PHI."""
    with httpx.Client(base_url=served.base, timeout=10) as http:
        number = seed(http, served)
        settings = {"app_id": "ledger-test", "api_base": f"{served.base}/fhir"}
        smart = fhir_client.FHIRClient(settings=settings)
        assert smart.prepare()
        definition = smart.server.request_json("OperationDefinition/rems-etasu")
        strict_r4(definition)
        smart.server.session.headers["Authorization"] = served.auth("prescriber")["Authorization"]
        params = {
            "resourceType": "Parameters",
            "parameter": [{"name": "case_number", "valueString": number}],
        }
        body = smart.server.post_json("GuidanceResponse/$rems-etasu", params).json()
        strict_r4(body)
        outer = body["parameter"][0]["resource"]
        assert outer["status"] == "success"
        names = {p["name"]: p for p in outer["contained"][0]["parameter"]}
        assert names["case_number"]["valueString"] == number

        fhirpy = SyncFHIRClient(
            f"{served.base}/fhir", authorization=served.auth("pharmacy")["Authorization"]
        )
        answer = fhirpy.execute("GuidanceResponse/$rems-etasu", method="post", data=params)
        strict_r4(answer)
        nested = answer["parameter"][0]["resource"]["contained"][0]["parameter"]
        assert {p["name"]: p.get("resource", {}).get("status") for p in nested}["D1"] == "success"

        hook = fixture("cds-hooks/lenalidomide/order-sign-request.json")
        hook["prefetch"]["patient"]["identifier"].append({"system": PATIENT_SYSTEM, "value": "P2"})
        hook["prefetch"]["practitioner"]["identifier"].append(
            {"system": PRESCRIBER_SYSTEM, "value": "DR1"}
        )
        path = "/cds-services/lenalidomide-rems-order-sign"
        cards = http.post(
            path, json=hook, headers={"Authorization": f"Bearer {served.cds_jwt(path)}"}
        )
        assert cards.status_code == 200, cards.text
        assert [c["source"]["topic"]["code"] for c in cards.json()["cards"]] == ["A2"]
        assert number in cards.json()["cards"][0]["summary"]
        assert http.post(path, json=hook).status_code == 401

        message = fixture("interop-examples/ncpdp-rems-request.json")
        del message["Header"]["SentTime"]
        request = message["Body"]["REMSRequest"]
        request["Request"]["SolicitedModel"]["REMSCaseID"] = number
        request["Patient"]["HumanPatient"]["Identification"]["REMSPatientID"] = "P2"
        confirmed = http.post("/ncpdp/rems-request", json=message, headers=served.auth("pharmacy"))
        assert confirmed.status_code == 200, confirmed.text
        status = confirmed.json()["Body"]["REMSResponse"]["Response"]["ResponseStatus"]
        assert status["Approved"]["REMSAuthorizationNumber"].startswith("RC-")
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=15)
    log = served.log.read_text()
    assert "POST /fhir/GuidanceResponse/$rems-etasu 200" in log
    for phi in (
        "Jane Q Patient",
        "77 Sunset Boulevard",
        "555-867-5309",
        "1987-06-15",
        "Snow",
        "Roe",
        "1990-05-01",
    ):
        assert phi not in log
