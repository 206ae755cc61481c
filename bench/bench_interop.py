"""Benchmark: CDS Hooks order-sign and FHIR `$rems-etasu` latency against the plain `/v1`
eligibility query, in the same run, on the same patient, interleaved call by call (so load on a
shared machine hits all three alike). In process through Starlette's TestClient: the figures are
the server's work plus the same small client overhead for each. The CDS call includes verifying
its ES384 JWT (signed beforehand, outside the timing).
Run: `.venv/bin/python -m bench.bench_interop [--calls 1000]`. Never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from application.ledger import Ledger
from entrypoints.http.app import create_app
from entrypoints.http.tokens import Role
from entrypoints.interop.settings import CdsClient, InteropSettings
from infra.settings import ClockMode, Settings

C = "https://rems.example.org/fhir/lenalidomide"
ISSUER = "https://ehr.example.org"
AT = "2026-03-01T09:00:00-05:00"
TOPICS = [
    "benefits_and_risks",
    "birth_defects",
    "no_sharing",
    "no_blood_donation",
    "contraception",
    "emergency_contraception",
    "capsule_handling",
    "capsule_return",
    "resource_pack",
]
ORDER = {
    "resourceType": "MedicationRequest",
    "id": "mr-1",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "342369"}]
    },
    "subject": {"reference": "Patient/p-1"},
    "dosageInstruction": [
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 10, "code": "mg"}}],
        }
    ],
    "dispenseRequest": {
        "quantity": {"value": 28},
        "numberOfRepeatsAllowed": 0,
        "expectedSupplyDuration": {"value": 28, "code": "d"},
    },
}


def seed(ledger: Ledger) -> None:
    """DR1 certified; P1 an adult male enrolled and counseled (eligible)."""
    commands: list[dict[str, Any]] = [
        {
            "command": "register_prescriber",
            "prescriber_id": "DR1",
            "name": "Dr",
            "address": "1 Way",
            "fax": "555",
        },
        {"command": "certify_prescriber", "prescriber_id": "DR1"},
        {
            "command": "enroll_patient",
            "patient_id": "P1",
            "prescriber_id": "DR1",
            "name": "Pat",
            "address": "3 Elm St",
            "phone": "555-0199",
            "date_of_birth": "1980-01-01",
            "sex": "male",
            "diagnosis_icd10": "C90.00",
            "language": "english",
            "patient_signed": True,
            "prescriber_signed": True,
            "all_statements_marked": True,
        },
        {
            "command": "record_counseling",
            "patient_id": "P1",
            "prescriber_id": "DR1",
            "topics": TOPICS,
        },
    ]
    for command in commands:
        assert ledger.execute({**command, "at": AT})["ok"]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    """Run the three calls `--calls` times each and print p50/p99 and the p99 ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        ledger = Ledger(Settings(database_url=url, clock=ClockMode.EVENT))
        seed(ledger)
        app = create_app(ledger=ledger)
        key = ec.generate_private_key(ec.SECP384R1())
        public = orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        public["kid"] = "k1"
        app.state.interop = InteropSettings(
            cds_clients=(CdsClient(iss=ISSUER, jwks={"keys": [public]}),)
        )
        token = app.state.api.tokens.create(Role.PRESCRIBER, "DR1")[1]
        auth = {"Authorization": f"Bearer {token}"}
        hook_path = "/cds-services/lenalidomide-rems-order-sign"
        hook = orjson.dumps(
            {
                "hook": "order-sign",
                "hookInstance": str(uuid.uuid4()),
                "context": {
                    "userId": "Practitioner/dr-1",
                    "patientId": "p-1",
                    "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": ORDER}]},
                },
                "prefetch": {
                    "patient": {
                        "resourceType": "Patient",
                        "id": "p-1",
                        "identifier": [{"system": f"{C}/sid/patient-id", "value": "P1"}],
                    },
                    "practitioner": {
                        "resourceType": "Practitioner",
                        "id": "dr-1",
                        "identifier": [{"system": f"{C}/sid/prescriber-id", "value": "DR1"}],
                    },
                },
            }
        )
        params = orjson.dumps(
            {
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "patient",
                        "resource": {
                            "resourceType": "Patient",
                            "identifier": [{"system": f"{C}/sid/patient-id", "value": "P1"}],
                        },
                    }
                ],
            }
        )

        def jwt_for(n: int) -> str:
            claims = {
                "iss": ISSUER,
                "sub": ISSUER,
                "aud": f"http://testserver{hook_path}",
                "iat": int(time.time()),
                "exp": int(time.time()) + 290,
                "jti": f"j{n}",
            }
            return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1"})

        with TestClient(app) as client:
            tokens = [jwt_for(n) for n in range(calls + 20)]
            runs: dict[str, Callable[[int], httpx.Response]] = {
                "/v1 eligibility": lambda n: client.get(
                    "/v1/patients/P1/eligibility", headers=auth
                ),
                "CDS order-sign": lambda n: client.post(
                    hook_path,
                    content=hook,
                    headers={
                        "Authorization": f"Bearer {tokens[n]}",
                        "Content-Type": "application/json",
                    },
                ),
                "$rems-etasu": lambda n: client.post(
                    "/fhir/GuidanceResponse/$rems-etasu",
                    content=params,
                    headers={**auth, "Content-Type": "application/fhir+json"},
                ),
            }
            samples: dict[str, list[float]] = {name: [] for name in runs}
            for n in range(calls + 20):
                for name, run in runs.items():
                    began = time.perf_counter()
                    response = run(n)
                    elapsed = time.perf_counter() - began
                    assert response.status_code == 200, response.text
                    if n >= 20:  # the first calls warm caches and imports
                        samples[name].append(elapsed)
        app.state.api.close()
    base = percentiles(samples["/v1 eligibility"])[1]
    print(f"{calls} calls each, interleaved, in process (TestClient), SQLite")
    for name, values in samples.items():
        p50, p99 = percentiles(values)
        print(
            f"{name:16} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   "
            f"p99 / eligibility p99 {p99 / base:5.2f}"
        )


if __name__ == "__main__":
    main()
