"""JWK Sets: which keys are usable, and how often a fetched set is reloaded."""

from __future__ import annotations

import pytest

from cds_service.auth.fetch import KeyUnavailable, fetch_jwks_url
from cds_service.auth.keys import RefreshingKeySet, parse_jwks
from tests.support.jwt_clients import JwksServer, Signer, jwks


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_only_asymmetric_signing_keys_with_a_kid_are_kept():
    es, rs = Signer("ES384"), Signer("RS384")
    doc = {
        "keys": [
            es.public_jwk,
            rs.public_jwk,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            dict(Signer("ES256").public_jwk, use="enc", kid="enc"),
        ]
    }
    keys = parse_jwks(doc)
    assert set(keys) == {es.kid, rs.kid}
    assert keys[es.kid].fits("ES384") and not keys[es.kid].fits("ES256") and not keys[es.kid].fits("RS384")
    assert keys[rs.kid].fits("RS384") and not keys[rs.kid].fits("PS384")  # the JWK says alg RS384


def test_private_material_in_a_jwks_is_reduced_to_the_public_key():
    import json

    import jwt

    signer = Signer("ES384")
    private = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(signer.private_key))
    private.update(kid="k")
    key = parse_jwks({"keys": [private]})["k"].key
    assert not hasattr(key, "sign")


def test_small_rsa_keys_are_refused():
    import json

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key()))
    small["kid"] = "small"
    with pytest.raises(ValueError, match="2048"):
        parse_jwks({"keys": [small]}, strict=True)


def test_cache_ttl_refresh_on_unknown_kid_and_floor():
    clock, loads = Clock(), []
    es = Signer("ES384")
    doc = jwks(es)

    def load():
        loads.append(clock.now)
        return doc

    keys = RefreshingKeySet("test", load, ttl_s=300, floor_s=30, clock=clock)
    assert keys.find(es.kid) and len(loads) == 1
    assert keys.find("unknown") is None and len(loads) == 2  # one early refresh
    assert keys.find("unknown") is None and len(loads) == 2  # floor holds
    clock.now += 31
    assert keys.find("unknown") is None and len(loads) == 3  # floor passed: one more
    clock.now += 300
    assert keys.find(es.kid) and len(loads) == 4  # TTL expiry reloads


def test_first_load_does_not_double_fetch_for_an_unknown_kid():
    loads = []
    keys = RefreshingKeySet("test", lambda: loads.append(1) or jwks(Signer()), 300, 30, clock=Clock())
    assert keys.find("unknown") is None and len(loads) == 1


def test_a_failed_reload_keeps_the_last_good_keys():
    clock = Clock()
    es = Signer("ES384")
    answers = [jwks(es)]

    def load():
        answer = answers[-1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    keys = RefreshingKeySet("test", load, ttl_s=60, floor_s=10, clock=clock)
    assert keys.find(es.kid)
    answers.append(KeyUnavailable("down"))
    clock.now += 61
    assert keys.find(es.kid)  # stale but usable while the endpoint is down


def test_fetch_refuses_errors_and_redirects():
    with JwksServer(jwks(Signer())) as server:
        assert "keys" in fetch_jwks_url(server.url, 2)
        with pytest.raises(KeyUnavailable, match="HTTP 404"):
            fetch_jwks_url(server.base + "/other", 2)
        server.redirects["/moved"] = server.url
        with pytest.raises(KeyUnavailable, match="HTTP 302"):
            fetch_jwks_url(server.base + "/moved", 2)
        assert server.hits.get("/jwks.json") == 1  # the redirect was not followed
    with pytest.raises(KeyUnavailable, match="unreachable"):
        fetch_jwks_url(server.url, 0.5)  # server gone
