"""Trusting CDS clients (CDS Hooks 2.0; INTEROP.md §5.2, §12.5): every service call carries a JWT
signed ES384 or RS384 by an allow-listed EHR, for exactly the URL called, short-lived, never
replayed. `none` and every HMAC algorithm are refused. Verified with PyJWT."""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt

from entrypoints.interop.settings import CdsClient, InteropSettings

ALGORITHMS = ("ES384", "RS384")
MAX_LIFETIME_SECONDS = 300
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti")


class CdsAuthError(Exception):
    """The caller is not a trusted CDS client: 401 (bad token) or 403 (issuer not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class SeenTokens:
    """`jti`s of accepted tokens, kept until they expire, so a replay is refused."""

    def __init__(self) -> None:
        self._expiry: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def first_use(self, iss: str, jti: str, exp: float, now: float) -> bool:
        """Record the token; False when it was already used."""
        with self._lock:
            self._expiry = {k: v for k, v in self._expiry.items() if v >= now}
            if (iss, jti) in self._expiry:
                return False
            self._expiry[(iss, jti)] = exp
            return True


def _key(client: CdsClient, header: dict[str, Any]) -> Any:
    try:
        keys = jwt.PyJWKSet.from_dict(client.jwks).keys
    except jwt.PyJWTError:
        raise CdsAuthError(401, "The issuer's configured keys cannot be read.") from None
    kid = header.get("kid")
    matching = [k for k in keys if kid is None or k.key_id == kid]
    if not matching:
        raise CdsAuthError(401, "No configured key of the issuer matches the token's kid.")
    return matching[0].key


def verify_cds_jwt(
    authorization: str | None,
    audience: str,
    settings: InteropSettings,
    seen: SeenTokens,
    now: float | None = None,
) -> dict[str, Any]:
    """The verified claims of the caller's JWT; raises CdsAuthError."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise CdsAuthError(401, "Send Authorization: Bearer <CDS Hooks client JWT>.")
    token = authorization[len("bearer ") :].strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CdsAuthError(401, "The bearer token is not a JWT.") from None
    if header.get("alg") not in ALGORITHMS:
        raise CdsAuthError(401, "The JWT must be signed with ES384 or RS384.")
    if header.get("typ", "JWT") != "JWT":
        raise CdsAuthError(401, "The JWT header typ must be JWT.")
    iss = unverified.get("iss")
    client = settings.client(iss) if isinstance(iss, str) else None
    if client is None:
        raise CdsAuthError(403, "This issuer is not an allowed CDS client.")
    if "jku" in header:
        raise CdsAuthError(401, "jku is not accepted: keys come from configuration only.")
    clock = time.time() if now is None else now
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _key(client, header),
            algorithms=[header["alg"]],
            audience=audience,
            issuer=client.iss,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError as error:
        raise CdsAuthError(401, f"The JWT was refused: {error}.") from None
    if claims["aud"] not in (audience, [audience]):
        raise CdsAuthError(401, "The JWT's aud must be exactly the URL called.")
    if claims["sub"] != claims["iss"]:
        raise CdsAuthError(401, "The JWT's sub must equal its iss.")
    if float(claims["exp"]) - clock > MAX_LIFETIME_SECONDS:
        raise CdsAuthError(401, "The JWT's exp is more than 5 minutes ahead.")
    if client.tenant is not None and claims.get("tenant") != client.tenant:
        raise CdsAuthError(401, "The JWT's tenant is not this issuer's.")
    if not seen.first_use(client.iss, str(claims["jti"]), float(claims["exp"]), clock):
        raise CdsAuthError(401, "This JWT was already used (jti replay).")
    return claims
