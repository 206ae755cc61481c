"""Trusting CDS clients and bad CDS input (INTEROP.md §2.6, §5.2, §12.5; §7 #12): the JWT's
algorithm, audience, lifetime, replay and issuer; unknown services, wrong hooks, malformed and
oversized bodies. Every refusal records nothing."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from entrypoints.interop.settings import CdsClient, InteropSettings
from tests.interop.support import BASE, ISSUER, Interop, fixture

SIGN = "lenalidomide-rems-order-sign"
URL = f"{BASE}/cds-services/{SIGN}"


def isotretinoin() -> dict[str, object]:
    """A well-formed order-sign body (answered `{"cards": []}` when trusted)."""
    body: dict[str, object] = fixture("cds-hooks/rems-admin/order-sign-request-isotretinoin.json")
    return body


def test_a_valid_ES384_jwt_is_accepted(interop: Interop) -> None:
    """The allow-listed EHR's ES384 token for exactly this URL is accepted."""
    assert interop.hook(SIGN, isotretinoin()).status_code == 200


def test_a_valid_RS384_jwt_is_accepted(interop: Interop) -> None:
    """An RS384 key of an allow-listed issuer works too."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public["kid"] = "rsa-1"
    interop.app.state.interop = InteropSettings(
        cds_clients=(CdsClient(iss="https://rsa-ehr.example.org", jwks={"keys": [public]}),)
    )
    now = int(time.time())
    claims = {
        "iss": "https://rsa-ehr.example.org",
        "sub": "https://rsa-ehr.example.org",
        "aud": URL,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, key, algorithm="RS384", headers={"kid": "rsa-1"})
    assert interop.hook(SIGN, isotretinoin(), token=token).status_code == 200


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": f"{BASE}/cds-services"}, "aud of another URL"),
        ({"aud": [URL, "https://other.example.org"]}, "aud not exactly the URL"),
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"exp": int(time.time()) + 3600}, "exp more than 5 minutes ahead"),
        ({"sub": "someone-else"}, "sub is not iss"),
        ({"jti": None}, "no jti"),
    ],
)
def test_a_bad_jwt_is_401(interop: Interop, claims: dict[str, object], why: str) -> None:
    """Tokens the CDS Hooks rules refuse are 401 with WWW-Authenticate."""
    token = interop.cds_jwt(str(claims.pop("aud", URL)), **claims)
    response = interop.hook(SIGN, isotretinoin(), token=token)
    assert response.status_code == 401, why
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["ok"] is False


def test_a_replayed_jti_is_401(interop: Interop) -> None:
    """The same token twice: the second call is refused (jti kept until exp)."""
    token = interop.cds_jwt(URL)
    assert interop.hook(SIGN, isotretinoin(), token=token).status_code == 200
    assert interop.hook(SIGN, isotretinoin(), token=token).status_code == 401


def test_missing_jwt_hs256_and_none_are_401(interop: Interop) -> None:
    """No token, an HMAC token and an unsigned token are all 401."""
    body = orjson.dumps(isotretinoin())
    response = interop.client.post(f"/cds-services/{SIGN}", content=body)
    assert response.status_code == 401
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": ISSUER, "aud": URL, "iat": now, "exp": now + 60, "jti": "x"}
    hs256 = jwt.encode(claims, "a-shared-secret-that-is-long-enough-32b", algorithm="HS256")
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(orjson.dumps(part)).rstrip(b"=").decode()
            for part in ({"alg": "none", "typ": "JWT"}, claims)
        )
        + "."
    )
    for token in (hs256, unsigned, "not-a-jwt"):
        assert interop.hook(SIGN, isotretinoin(), token=token).status_code == 401


def test_a_token_signed_by_another_key_is_401(interop: Interop) -> None:
    """A token claiming the allowed issuer but signed with another key is 401."""
    other = Interop.__new__(Interop)
    from cryptography.hazmat.primitives.asymmetric import ec

    other.key = ec.generate_private_key(ec.SECP384R1())
    token = Interop.cds_jwt(other, URL)
    assert interop.hook(SIGN, isotretinoin(), token=token).status_code == 401


def test_an_issuer_not_allowed_is_403(interop: Interop) -> None:
    """An issuer missing from REMS_CDS_CLIENTS is 403."""
    token = interop.cds_jwt(
        URL, iss="https://stranger.example.org", sub="https://stranger.example.org"
    )
    assert interop.hook(SIGN, isotretinoin(), token=token).status_code == 403


def test_unknown_service_is_404_and_wrong_hook_is_400(interop: Interop) -> None:
    """An unknown service ID is 404; an order-sign body sent to patient-view is 400."""
    assert interop.hook("no-such-service", isotretinoin()).status_code == 404
    response = interop.hook("lenalidomide-rems-patient-view", isotretinoin())
    assert response.status_code == 400
    assert "hook" in response.json()["error"]["message"]


def test_malformed_bodies_are_400(interop: Interop) -> None:
    """Not JSON, XML, a missing context and order-select without selections are 400."""
    assert interop.hook(SIGN, b"{not json").status_code == 400
    assert interop.hook(SIGN, b"<hook>order-sign</hook>").status_code == 400
    body = isotretinoin()
    del body["context"]
    assert interop.hook(SIGN, body).status_code == 400
    select = fixture("cds-hooks/lenalidomide/order-select-request.json")
    del select["context"]["selections"]
    assert interop.hook("lenalidomide-rems-order-select", select).status_code == 400


def test_bodies_up_to_1_MiB_are_read_and_larger_ones_are_413(interop: Interop) -> None:
    """A 200 KiB prefetch (over the API's 64 KiB) is answered; over 1 MiB is 413."""
    body = isotretinoin()
    body["prefetch"]["padding"] = "x" * 200_000  # type: ignore[index]  # the body is a JSON object
    assert interop.hook(SIGN, body).status_code == 200
    body["prefetch"]["padding"] = "x" * (1024 * 1024)  # type: ignore[index]  # the body is a JSON object
    assert interop.hook(SIGN, body).status_code == 413


@pytest.mark.parametrize(
    "name",
    ["feedback-accepted.json", "feedback-overridden.json", "feedback-overridden-with-reason.json"],
)
def test_feedback_is_not_offered_yet(interop: Interop, name: str) -> None:
    """Feedback (§2.5) is not in the first build (§12.7): the spec's bodies get 404, nothing
    is recorded."""
    before = interop.log_size()
    token = interop.cds_jwt(f"{URL}/feedback")
    response = interop.client.post(
        f"/cds-services/{SIGN}/feedback",
        content=orjson.dumps(fixture(f"cds-hooks/spec-2.0.1/{name}")),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert interop.log_size() == before
