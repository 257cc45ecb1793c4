"""Fetching a jku key set from a broken key URL (issue 11 item 5), end to end over HTTP.

A key URL that drips bytes must not hold a request past CDS_JWKS_TIMEOUT_S (the deadline covers
the whole fetch, not each read); a truncated or garbage key set keeps the last good keys (no
500); and a broken key URL is not refetched more often than CDS_JWKS_REFRESH_FLOOR_S.
"""

from __future__ import annotations

import time

import pytest

from cds_service.auth.fetch import KeyUnavailable, fetch_jwks_url
from cds_service.auth.keys import RefreshingKeySet
from tests.support.jwt_clients import JwksServer, Signer, bearer, jwks, sandbox_token, write_clients

ISS = "https://ehr.example.org/fhir"


def _app(live, tmp_path, keys: JwksServer, **env):
    entries = [{"iss": ISS, "jku": keys.url}]
    return live(
        {
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, entries),
            "CDS_ALLOW_INSECURE_JKU": "true",
            **env,
        }
    )


def test_a_dripping_key_url_does_not_hold_the_request_past_the_jwks_timeout(live, http, tmp_path, log_lines):
    signer = Signer("ES384")
    with JwksServer(jwks(signer)) as keys:
        keys.mode, keys.drip_s = "drip", 0.1  # the whole set would take over a minute to arrive
        url = _app(live, tmp_path, keys, CDS_JWKS_TIMEOUT_S="1")
        discovery = url + "/cds-services"
        started = time.monotonic()
        response = http.get(
            discovery, headers=bearer(sandbox_token(signer, discovery, iss=ISS, jku=keys.url)), timeout=30
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 401
    assert elapsed < 6, f"a 1 s key-set deadline held the request {elapsed:.1f} s"  # generous margin over 1 s
    assert "too slow (fetch deadline passed)" in log_lines.requests()[-1]["error"]


def test_fetch_deadline_covers_a_dripped_body_directly():
    with JwksServer(jwks(Signer())) as keys:
        keys.mode, keys.drip_s = "drip", 0.05
        started = time.monotonic()
        with pytest.raises(KeyUnavailable, match="deadline"):
            fetch_jwks_url(keys.url, 0.5)
        assert time.monotonic() - started < 4


@pytest.mark.parametrize("broken", ["truncate", "garbage"])
def test_a_broken_key_set_keeps_the_last_good_keys_and_respects_the_floor(live, http, tmp_path, log_lines, broken):
    signer = Signer("ES384")
    with JwksServer(jwks(signer)) as keys:
        url = _app(live, tmp_path, keys, CDS_JWKS_REFRESH_FLOOR_S="3600")
        discovery = url + "/cds-services"

        def call(who: Signer):
            return http.get(discovery, headers=bearer(sandbox_token(who, discovery, iss=ISS, jku=keys.url)))

        assert call(signer).status_code == 200
        assert keys.total() == 1
        keys.mode = broken
        stranger = Signer("ES384")
        assert call(stranger).status_code == 401  # unknown kid: one refresh, which comes back broken
        assert keys.total() == 2
        for _ in range(3):
            assert call(signer).status_code == 200  # the last good keys still verify; never a 500
            assert call(stranger).status_code == 401
        assert keys.total() == 2  # no refetch inside the floor, however many unknown kids arrive
    reasons = [entry.get("error") for entry in log_lines.requests() if entry.get("status") == 401]
    assert len(reasons) == 4 and all("unavailable" in reason for reason in reasons), reasons
    assert all(("truncated" if broken == "truncate" else "not JSON") in reason for reason in reasons), reasons


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_failed_scheduled_reload_is_retried_only_after_the_floor():
    clock, es = Clock(), Signer("ES384")
    answers: list = [jwks(es)]

    def load():
        if isinstance(answers[-1], Exception):
            raise answers[-1]
        return answers[-1]

    keys = RefreshingKeySet("test", load, ttl_s=60, floor_s=30, clock=clock)
    assert keys.find(es.kid) and keys.loads == 1
    answers.append(KeyUnavailable("JWKS document is not JSON"))
    clock.now += 61  # stale: one reload, which fails
    assert keys.find(es.kid) and keys.loads == 2
    clock.now += 10
    assert keys.find(es.kid) and keys.loads == 2
    with pytest.raises(KeyUnavailable, match="not JSON"):
        keys.find("unknown")  # an unknown kid does not bypass the floor after a failure
    assert keys.loads == 2
    answers.append(jwks(es))
    clock.now += 21
    assert keys.find(es.kid) and keys.loads == 3
    assert keys.find("unknown") is None  # healthy again: an unknown kid is a plain miss
