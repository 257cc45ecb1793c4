"""Issue 21 point 7: replay protection survives a Redis restart. The service keeps JWT ids in Redis
only when Redis persists them (append-only file on): with persistence off it refuses to start, so
a restart can never make a used token new again. Private redis-server processes, really restarted."""

from __future__ import annotations

import pytest
import requests

from cds_service import create_app
from cds_service.config import ConfigError, Settings
from tests.support.cli import run_cli
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients
from tests.support.redis_server import RedisServer

ISS = "https://ehr.example.org/fhir"


def _env(tmp_path, redis_url: str, signer: Signer) -> dict:
    return {
        "CDS_AUTH_MODE": "required",
        "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, [{"iss": ISS, "jwks": jwks(signer)}]),
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3",
        "CDS_SPOOL_DIR": str(tmp_path / "spool"),
        "CDS_REDIS_URL": redis_url,
    }


def test_a_redis_without_persistence_is_refused_at_start(tmp_path):
    volatile = RedisServer(appendonly=False, directory=tmp_path / "redis").start()
    try:
        env = {**_env(tmp_path, volatile.url, Signer("ES384")), "CDS_PUBLIC_BASE_URL": "http://127.0.0.1:1"}
        with pytest.raises(ConfigError, match="appendonly"):
            create_app(Settings.from_env(env))
        result = run_cli("serve", "--port", "1", env=env)
        assert result.returncode == 2 and "append-only" in result.stderr, result.stderr
    finally:
        volatile.stop()


def test_a_token_used_before_a_redis_restart_is_refused_after_it(live, tmp_path):
    durable = RedisServer(appendonly=True, directory=tmp_path / "redis").start()
    try:
        signer = Signer("ES384")
        url = live(_env(tmp_path, durable.url, signer))
        discovery = url + "/cds-services"
        token = signer.token(ISS, discovery)
        with requests.Session() as http:
            http.trust_env = False
            assert http.get(discovery, headers=bearer(token), timeout=10).status_code == 200
            durable.restart()
            assert http.get(discovery, headers=bearer(token), timeout=10).status_code == 401
            assert http.get(discovery, headers=bearer(signer.token(ISS, discovery)), timeout=10).status_code == 200
    finally:
        durable.stop()
