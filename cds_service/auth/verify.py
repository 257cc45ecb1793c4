"""Checking one CDS client JWT: what the claims say, not only that they are there.

Order matters for safety: the header is checked before any key is looked up (no `none`, no
HMAC, so a public key can never be used as an HMAC secret); the issuer must be registered
before anything is fetched; a header `jku` is only ever compared with the registered one
(keys come from the registry's own source, fetched or pinned, never from the token); and the jti is claimed last, so a forged token cannot burn a genuine token's id.
"""

from __future__ import annotations

import math
import time

import jwt

from .. import metrics
from ..errors import CdsError
from .clients import Registry, TrustedClient
from .fetch import KeyUnavailable
from .keys import ALLOWED_ALGS

MAX_TOKEN_CHARS = 16 * 1024
_CHALLENGE = 'Bearer realm="cds-services"'
_REQUIRED = ["exp", "iat", "jti", "iss", "aud"]


def refuse(reason: str, *, missing: bool = False) -> CdsError:
    """The one 401 every failure becomes; `reason` goes to the log only and never holds token data."""
    metrics.count_jwt_refusal(reason)
    challenge = _CHALLENGE if missing else _CHALLENGE + ', error="invalid_token"'
    message = "authentication required" if missing else "invalid or missing credentials"
    return CdsError(401, message, headers={"WWW-Authenticate": challenge}, log_detail=f"auth: {reason}")


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise refuse("no Authorization header", missing=True)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise refuse("Authorization is not a Bearer token")
    if len(token) > MAX_TOKEN_CHARS:
        raise refuse("token too long")
    return token


def numeric_date(value) -> bool:
    """RFC 7519 §2 NumericDate: a finite JSON number. PyJWT alone takes "1800000000" (and fails
    on Infinity with an OverflowError), so the type is checked before any claim is compared."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _same_url(claimed, expected: str) -> bool:
    """Exactly the endpoint's URL: a trailing slash (or two) names another URL, and is refused."""
    return isinstance(claimed, str) and claimed == expected


class Verifier:
    def __init__(self, registry: Registry, replay, *, leeway_s: int, max_lifetime_s: int, clock=time.time):
        self.registry = registry
        self.replay = replay
        self.leeway = leeway_s
        self.max_lifetime = max_lifetime_s
        self._clock = clock

    def verify(self, authorization: str | None, audiences: tuple[str, ...] | str) -> tuple[TrustedClient, dict]:
        if isinstance(audiences, str):
            audiences = (audiences,)
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise refuse("malformed JWT") from None

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGS:  # a list or object is unhashable
            raise refuse(
                "alg is not an allowed asymmetric algorithm" + (" (none)" if str(alg).lower() == "none" else "")
            )
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise refuse("typ is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise refuse("no kid in the JWT header")

        for claim in ("exp", "iat", "nbf"):
            if claim in unverified and not numeric_date(unverified[claim]):
                raise refuse(f"{claim} is not a NumericDate (a JSON number)")

        client = self.registry.get(unverified.get("iss"))
        if client is None:
            raise refuse("iss is not a trusted client")
        jku = header.get("jku")
        if jku is not None and jku != client.jku:
            raise refuse(f"jku is not the one registered for {client.iss}; not fetched")

        try:
            key = client.keys.find(kid)
        except KeyUnavailable as exc:
            raise refuse(f"key set of {client.iss} unavailable ({exc}); kid not among the last good keys") from None
        if key is None:
            raise refuse(f"no key with this kid for {client.iss} (after one JWKS refresh at most)")
        if not key.fits(alg):
            raise refuse(f"key {kid} does not fit alg {alg}")

        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                issuer=client.iss,
                leeway=self.leeway,
                options={"require": _REQUIRED, "verify_aud": False, "verify_iss": True},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise refuse(f"claim {exc.claim} missing") from None
        except jwt.ExpiredSignatureError:
            raise refuse("token expired") from None
        except jwt.ImmatureSignatureError:
            raise refuse("token not yet valid (nbf or iat in the future)") from None
        except jwt.InvalidSignatureError:
            raise refuse(f"bad signature for {client.iss}") from None
        except jwt.PyJWTError as exc:
            raise refuse(f"token rejected ({type(exc).__name__})") from None

        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        if not any(_same_url(aud, audience) for audience in audiences):
            raise refuse("aud is not the URL of this endpoint")
        if not isinstance(claims["jti"], str) or not claims["jti"] or len(claims["jti"]) > 256:
            raise refuse("jti is not a non-empty string")
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(iat, (int, float)) or iat > self._clock() + self.leeway:
            raise refuse("iat is in the future")
        if exp - iat > self.max_lifetime:
            raise refuse(f"token lifetime exceeds {self.max_lifetime} s")
        tenant = claims.get("tenant")
        if client.tenant is not None and tenant is not None and tenant != client.tenant:
            raise refuse(f"tenant does not match the one registered for {client.iss}")

        if not self.replay.first_use(client.iss, claims["jti"], exp + self.leeway):
            raise refuse(f"jti replayed for {client.iss}")
        return client, claims
