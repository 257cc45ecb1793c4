"""A replayed token across gunicorn worker processes: exactly one of many identical calls gets in.

The real `serve` command with two workers, so the jti record is shared between processes through
the database (SQLite file or PostgreSQL) or Redis, not through memory. Also checks the service's
own stderr for the token.
"""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.databases import postgres_url, redis_url
from tests.support.gunicorn import served
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients

ISS = "https://ehr.example.org/fhir"


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def backend_env(request, tmp_path):
    if request.param == "sqlite":
        yield {"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3"}
    elif request.param == "postgresql":
        with postgres_url() as url:
            yield {"CDS_DATABASE_URL": url}
    else:
        yield {"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3", "CDS_REDIS_URL": redis_url()}


def test_a_replayed_token_is_accepted_once_across_two_workers(backend_env, tmp_path):
    signer = Signer("ES384")
    env = {
        "CDS_AUTH_MODE": "required",
        "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, [{"iss": ISS, "jwks": jwks(signer)}]),
        "CDS_LOG_LEVEL": "INFO",
        **backend_env,
    }
    with served(env, tmp_path) as (url, log_path):
        discovery = url + "/cds-services"
        token = signer.token(ISS, discovery)
        statuses: list[int] = []
        barrier = threading.Barrier(24)

        def call():
            with requests.Session() as session:  # a connection of its own, so both workers take some
                session.trust_env = False
                barrier.wait()
                statuses.append(session.get(discovery, headers=bearer(token), timeout=10).status_code)

        threads = [threading.Thread(target=call) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(statuses) == [200] + [401] * 23

        # fresh tokens still get in, from any worker
        for _ in range(6):
            assert requests.get(discovery, headers=bearer(signer.token(ISS, discovery)), timeout=10).status_code == 200
    log_text = log_path.read_text()
    assert log_text.count("CDS client authentication on") == 2  # both workers booted with auth on
    assert "jti replayed" in log_text
    assert token not in log_text and token.split(".")[2] not in log_text
