"""Starting many replicas: a replica is not ready (GET /readyz) until every one of its workers is
warm; a replica that starts while another holds the migration lock longer than a statement may
take waits for it instead of failing, then finds nothing left to migrate."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
import requests

from cds_service import readiness
from cds_service.storage.migrate import _ADVISORY_KEY as MIGRATION_LOCK
from cds_service.storage.migrate import load_migrations
from tests.support.databases import postgres_url
from tests.support.gunicorn import served
from tests.support.replicas import Replica


@pytest.fixture
def counting_workers():
    """The shared count `serve` sets up before forking, here in the test process; put back after."""
    saved = readiness._expected, readiness._warmed
    yield
    readiness._expected, readiness._warmed = saved


def test_readyz_says_starting_until_every_worker_is_warm(live, counting_workers):
    url = live()
    readiness.expect(2)
    for warm in (0, 1):
        answer = requests.get(url + "/readyz", timeout=10)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert answer.json() == {"status": "starting", "workers": {"warm": warm, "expected": 2}}
        assert requests.get(url + "/healthz", timeout=10).status_code == 200  # alive all the same
        readiness.worker_warm()
    assert requests.get(url + "/readyz", timeout=10).json() == {"status": "ready", "database": "ok"}
    readiness.worker_warm()  # a replaced worker warming up later: still ready
    assert requests.get(url + "/readyz", timeout=10).status_code == 200


def _warm_lines(log_path) -> int:
    lines = (line for line in log_path.read_text().splitlines() if line.startswith("{"))
    return sum(1 for entry in map(json.loads, lines) if entry.get("msg") == "worker warmed up")


def test_a_served_replica_is_ready_only_once_both_workers_have_warmed_up(tmp_path):
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3", "CDS_LOG_LEVEL": "INFO"}
    with served(env, tmp_path, workers=2) as (url, log_path):
        deadline = time.monotonic() + 60
        while (answer := requests.get(url + "/readyz", timeout=10)).status_code != 200:
            assert answer.json()["status"] == "starting" and answer.json()["workers"]["expected"] == 2
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.05)
        assert _warm_lines(log_path) == 2  # each worker logs its warm-up before it counts as warm


def test_a_replica_waits_out_another_replicas_long_migration(tmp_path):
    with postgres_url() as url:
        env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": url, "CDS_DB_TIMEOUT_S": "1", "CDS_LOG_LEVEL": "INFO"}
        replica = Replica("late", env, tmp_path, workers=1)
        with psycopg.connect(url, autocommit=True) as other:
            # another replica's migration, holding the lock the starting one needs
            other.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (MIGRATION_LOCK,))
            try:
                replica.start()
                waiting = _wait_for_lock_waiter(other)
                time.sleep(2.5)  # longer than CDS_DB_TIMEOUT_S: a statement bound would have failed by now
                assert replica.proc.poll() is None, replica.log_path.read_text()[-2000:]
                assert not replica.ready()
                other.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (MIGRATION_LOCK,))
                replica.wait_ready(30)
                assert waiting
                applied = [line for line in replica.log_path.read_text().splitlines() if '"schema migrated"' in line]
                assert [json.loads(line)["versions"] for line in applied] == [[m.version for m in load_migrations()]]
            finally:
                replica.close()


def _wait_for_lock_waiter(conn, timeout_s: float = 30) -> bool:
    """True once some session waits on an advisory lock of this database (the starting replica)."""
    deadline = time.monotonic() + timeout_s
    while not conn.execute(
        "SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
    ).fetchall():
        assert time.monotonic() < deadline, "the replica never asked for the migration lock"
        time.sleep(0.05)
    return True
