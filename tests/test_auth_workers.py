"""A replayed token across gunicorn worker processes: exactly one of many identical calls gets in.

The real `serve` command with two workers, so the jti record is shared between processes through
the database (SQLite file or PostgreSQL) or Redis, not through memory. Also checks the service's
own stderr for the token.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.support.databases import postgres_url, redis_url
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients

ROOT = Path(__file__).resolve().parent.parent
ISS = "https://ehr.example.org/fhir"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict, stack: ExitStack) -> tuple[str, Path]:
    port = _free_port()
    log_path = Path(env["CDS_TRUSTED_CLIENTS"]).parent / f"serve-{port}.log"
    log_file = stack.enter_context(open(log_path, "wb"))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    full_env.update(env)
    proc = subprocess.Popen([sys.executable, "-m", "cds_service", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "2", "--threads", "4"], cwd=ROOT, env=full_env,
                            stdout=log_file, stderr=subprocess.STDOUT)

    def stop():
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    stack.callback(stop)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited early:\n{log_path.read_text()[-2000:]}")
        try:
            if requests.get(url + "/healthz", timeout=0.5).status_code == 200:
                return url, log_path
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail("serve did not become healthy in 20 s")


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
    env = {"CDS_AUTH_MODE": "required", "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, [{"iss": ISS, "jwks": jwks(signer)}]),
           "CDS_LOG_LEVEL": "INFO", **backend_env}
    with ExitStack() as stack:
        url, log_path = _serve(env, stack)
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
