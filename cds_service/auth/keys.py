"""Clients' public keys: parsed from JWK Sets that are inline, in a file, or fetched from a jku URL.

Only asymmetric signing keys are kept (EC P-256/384/521 and RSA >= 2048 bits). A JWK Set that
also lists a symmetric (`oct`) key, or private key material, never makes such a key usable:
we keep the public half only, so an HMAC "signed with the public key" cannot verify.

Fetched sets are cached for a TTL. An unknown `kid` may mean the client rotated its keys, so it
triggers one early refresh, but never more often than the refresh floor: otherwise anyone could
make us hammer the client's JWKS endpoint by sending made-up kids.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .fetch import KeyUnavailable

log = logging.getLogger("cds_service.auth")

MIN_RSA_BITS = 2048
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
RSA_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
ALLOWED_ALGS = frozenset(EC_CURVES) | RSA_ALGS


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: Any  # a cryptography public key object
    alg: str | None  # the JWK's own "alg", when it names one

    def fits(self, alg: str) -> bool:
        """Whether a token signed with `alg` may be verified with this key (family, curve, JWK alg)."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg in EC_CURVES:
            return isinstance(self.key, ec.EllipticCurvePublicKey) and self.key.curve.name == EC_CURVES[alg]
        if alg in RSA_ALGS:
            return isinstance(self.key, rsa.RSAPublicKey)
        return False


def parse_jwks(doc, *, strict: bool = False) -> dict[str, PublicKey]:
    """kid -> key for every usable signing key; strict=True (start-up) raises on a bad set instead of skipping."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError('a JWK Set is an object with a "keys" array')
    found: dict[str, PublicKey] = {}
    for index, jwk in enumerate(doc["keys"]):
        try:
            key = _public_key(jwk)
        except ValueError as exc:
            if strict:
                raise ValueError(f"key {index}: {exc}") from None
            log.warning("JWKS key skipped", extra={"keyIndex": index, "reason": str(exc)})
            continue
        if key is None:
            continue
        if key.kid in found:
            raise ValueError(f"key {index}: kid {key.kid!r} appears twice")
        found[key.kid] = key
    if not found:
        raise ValueError("no usable EC or RSA signing key with a kid")
    return found


def _public_key(jwk) -> PublicKey | None:
    if not isinstance(jwk, dict):
        raise ValueError("a JWK must be an object")
    kty = jwk.get("kty")
    if kty not in ("EC", "RSA"):
        return None  # symmetric or unknown key types are never usable for CDS Hooks
    if jwk.get("use") not in (None, "sig"):
        return None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("a signing key needs a kid")
    alg = jwk.get("alg")
    if alg is not None and alg not in ALLOWED_ALGS:
        return None
    public = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "oth")}
    if len(public) != len(jwk):
        log.warning("JWKS holds private key material; only the public part is used", extra={"kid": kid})
    key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey | rsa.RSAPublicKey | rsa.RSAPrivateKey
    try:
        if kty == "EC":
            key = jwt.algorithms.ECAlgorithm.from_jwk(public)
        else:
            key = jwt.algorithms.RSAAlgorithm.from_jwk(public)
    except (jwt.InvalidKeyError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"kid {kid!r}: not a valid {kty} public key ({type(exc).__name__})") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"kid {kid!r}: RSA keys must have at least {MIN_RSA_BITS} bits")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in EC_CURVES.values():
        raise ValueError(f"kid {kid!r}: unsupported EC curve {key.curve.name}")
    return PublicKey(kid=kid, key=key, alg=alg)


def read_jwks_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyUnavailable(f"JWKS file unreadable ({exc.strerror})") from None
    except ValueError:
        raise KeyUnavailable("JWKS file is not JSON") from None


class KeySource(Protocol):
    def find(self, kid: str) -> PublicKey | None: ...


class StaticKeySet:
    """Keys written into the trusted-clients file itself; they change only with a restart."""

    def __init__(self, keys: dict[str, PublicKey]):
        self._keys = keys

    def find(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)


class RefreshingKeySet:
    """A JWK Set loaded on demand and cached for `ttl_s`.

    Loads happen at most once per `floor_s` after a failure and an unknown kid forces at most one
    refresh per floor, so neither a broken key URL nor made-up kids make us hammer it. A failed
    load never discards the last good keys; `find` reports the failure only for a kid they lack.
    """

    def __init__(
        self,
        label: str,
        load: Callable[[], dict],
        ttl_s: float,
        floor_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self._load = load
        self._ttl = ttl_s
        self._floor = floor_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] | None = None
        self._fresh_until = float("-inf")
        self._last_forced = float("-inf")
        self._last_failed = float("-inf")
        self._failure: str | None = None  # why the latest load failed; None after a good one
        self.loads = 0  # how many times the source was read (observability and tests)

    def find(self, kid: str) -> PublicKey | None:
        """The key, or None; raises KeyUnavailable when the kid is unknown and the latest load failed."""
        with self._lock:  # one load at a time; concurrent callers reuse its result
            now = self._clock()
            loaded_now = False  # a load attempted for this very call makes a forced refresh pointless
            may_retry = now - self._last_failed >= self._floor
            if (self._keys is None or now >= self._fresh_until) and may_retry:
                self._reload(now)
                loaded_now = True
            keys = self._keys or {}
            if kid in keys:
                return keys[kid]
            if not loaded_now and may_retry and now - self._last_forced >= self._floor:
                self._last_forced = now
                log.info("unknown kid; refreshing JWKS once", extra={"jwks": self.label})
                self._reload(now)
                if kid in (self._keys or {}):
                    return (self._keys or {})[kid]
            if self._failure is not None:
                raise KeyUnavailable(self._failure)
            return None

    def _reload(self, now: float) -> None:
        self.loads += 1
        try:
            keys = parse_jwks(self._load())
        except Exception as exc:  # noqa: BLE001 - any failure of a key source keeps the last good keys, never a 500
            reason = str(exc) if isinstance(exc, (KeyUnavailable, ValueError)) else f"{type(exc).__name__}"
            self._failure = reason[:200]
            self._last_failed = now
            log.warning(
                "JWKS could not be loaded; keeping the last good keys",
                extra={"jwks": self.label, "reason": self._failure, "haveKeys": bool(self._keys)},
            )
            return
        self._keys = keys
        self._failure = None
        self._fresh_until = now + self._ttl
