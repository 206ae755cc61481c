"""What the interop tests share: the fixtures (copies of `shared/fixtures`, each folder's README
names its source), an API app with an allow-listed CDS client whose EC P-384 key the test
generates, strict R4 checks of every FHIR resource returned, and seeded patients."""

from __future__ import annotations

import copy
import time
import uuid
from pathlib import Path
from typing import Any, cast

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models.fhirelementfactory import (  # type: ignore[import-untyped]  # fhirclient ships no type hints
    FHIRElementFactory,
)

from application.ledger import Ledger
from entrypoints.interop.fhir_build import checked
from entrypoints.interop.settings import CdsClient, InteropSettings
from tests.api_client import COMPLIANCE, Http, frp_form
from tests.program import ALL_TOPICS

FIXTURES = Path(__file__).parent / "fixtures"
C = "https://rems.example.org/fhir/lenalidomide"
PATIENT_SYSTEM = f"{C}/sid/patient-id"
PRESCRIBER_SYSTEM = f"{C}/sid/prescriber-id"
ISSUER = "https://ehr.example.org"
BASE = "http://testserver"
ISSUE_TYPES = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)
"""FHIR R4's IssueType value set (http://hl7.org/fhir/R4/valueset-issue-type.html, a required
binding of OperationOutcome.issue.code that neither library checks)."""


def _codes(resource_type: str, element: str) -> frozenset[str]:
    """The codes fhir.resources lists for a required binding (it lists them, it does not check
    them)."""
    field = get_fhir_model_class(resource_type).model_fields[element]
    extra = field.json_schema_extra
    assert isinstance(extra, dict)
    return frozenset(cast(list[str], extra["enum_values"]))


GUIDANCE_STATUSES = _codes("GuidanceResponse", "status")
SEVERITIES = _codes("OperationOutcomeIssue", "severity")


def fixture(name: str) -> Any:
    """A fixture file's JSON (a fresh copy each time)."""
    return orjson.loads((FIXTURES / name).read_bytes())


def strict_r4(resource: dict[str, Any]) -> None:
    """Layer 1 and 2 of INTEROP.md §6: fhirclient's R4 models (strict), the R4B model (as the
    product checks what it sends), and the codes the libraries do not check."""
    FHIRElementFactory.instantiate(resource["resourceType"], copy.deepcopy(resource))
    checked(copy.deepcopy(resource))
    for inner in walk(resource):
        if inner["resourceType"] == "GuidanceResponse":
            assert inner["status"] in GUIDANCE_STATUSES
        if inner["resourceType"] == "OperationOutcome":
            for issue in inner["issue"]:
                assert issue["severity"] in SEVERITIES
                assert issue["code"] in ISSUE_TYPES


def walk(resource: Any) -> list[dict[str, Any]]:
    """Every resource inside (itself, contained, parameter resources), depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(resource, dict):
        if "resourceType" in resource:
            found.append(resource)
        for value in resource.values():
            found += walk(value)
    elif isinstance(resource, list):
        for value in resource:
            found += walk(value)
    return found


class Interop(Http):
    """The API app with DR1, DR2, PH1, PH2 certified and one allow-listed EHR."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        self.key = ec.generate_private_key(ec.SECP384R1())
        public = orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": "ehr-key-1", "use": "sig", "alg": "ES384"})
        self.jwks = {"keys": [public]}
        self.app.state.interop = InteropSettings(
            cds_clients=(CdsClient(iss=ISSUER, jwks=self.jwks),)
        )
        self.participants()

    def cds_jwt(self, aud: str, **claims: Any) -> str:
        """A CDS Hooks client JWT signed with the EHR's key."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "sub": ISSUER,
            "aud": aud,
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        headers = {"kid": "ehr-key-1", "typ": "JWT"}
        return jwt.encode(payload, self.key, algorithm="ES384", headers=headers)

    def hook(self, service: str, body: Any, token: str | None = None) -> httpx.Response:
        """POST a CDS Hooks call with a fresh JWT for the URL."""
        url = f"/cds-services/{service}"
        token = token or self.cds_jwt(BASE + url)
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return self.client.post(url, content=content, headers=headers)

    def etasu(
        self, who: str, parameters: Any, media: str = "application/fhir+json"
    ) -> httpx.Response:
        """POST $rems-etasu as `role:subject`."""
        content = parameters if isinstance(parameters, bytes) else orjson.dumps(parameters)
        headers = {**self.auth(who), "Content-Type": media}
        return self.client.post(
            "/fhir/GuidanceResponse/$rems-etasu", content=content, headers=headers
        )

    # -- patients --------------------------------------------------------------------
    def enroll_frp(self, patient_id: str = "P1") -> None:
        """An adult FRP with only the enrollment recorded (INTEROP.md §3.3's data-required)."""
        self.ok("prescriber:DR1", "enroll_patient", **frp_form(patient_id))

    def ready_male(self, patient_id: str = "P2") -> None:
        """An adult male enrolled and counseled: ready for an initial authorization."""
        form = {**frp_form(patient_id), "sex": "male"}
        form.pop("menstruation")
        dr = "prescriber:DR1"
        self.ok(dr, "enroll_patient", **form)
        self.ok(
            dr, "record_counseling", patient_id=patient_id, prescriber_id="DR1", topics=ALL_TOPICS
        )


__all__ = ["COMPLIANCE", "Interop", "fixture", "strict_r4", "walk"]
