"""Three `cds-service serve` replicas behind a real HAProxy (deploy/haproxy/haproxy.cfg), sharing the
real PostgreSQL and Redis: started together they migrate once; a JWT is accepted by one replica
only; an override through one replica suppresses on the others; kill -9 of a replica under load at
concurrency 32 fails only calls in flight on it; a rolling restart fails none; no acknowledged
feedback is lost. The short form of `make scale-test` (bench/scale.py), one worker per replica:
this machine's two cores run everything."""

from __future__ import annotations

import pytest

from bench import scale
from cds_service.storage.migrate import load_migrations
from tests.support.replicas import haproxy_missing

pytestmark = pytest.mark.skipif(bool(haproxy_missing()), reason=haproxy_missing() or "")
CONCURRENCY = 32


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with scale.cluster(tmp_path_factory.mktemp("replicas")) as started:
        yield started


def test_replicas_started_at_the_same_moment_apply_the_migrations_once(cluster):
    found = cluster.migrations()
    assert found["versionsInDatabase"] == [m.version for m in load_migrations()]
    versions = [v for entry in found["appliedBy"] for v in entry["versions"]]
    assert sorted(versions) == found["versionsInDatabase"], found["appliedBy"]  # each once, by one process


def test_a_jwt_replayed_to_another_replica_is_refused(cluster):
    statuses = scale.replay_across_replicas(cluster)
    assert sorted(statuses.values()) == [200, 401, 401], statuses


def test_a_card_overridden_through_one_replica_is_suppressed_on_every_replica_for_that_client_only(cluster):
    found = scale.suppression_across_replicas(cluster)
    assert found["feedbackStatus"] == 200
    assert found["cardsAfter"] == {name: 0 for name in cluster.replicas}, found
    assert found["otherTenantCardsAfter"] == {name: 1 for name in cluster.replicas}, found  # not silenced for them


def test_kill_9_under_load_fails_only_calls_in_flight_on_the_killed_replica(cluster):
    found = scale.kill_under_load(cluster, "r2", CONCURRENCY, before=150, after_s=4.0)
    calls = found.pop("_calls")
    assert found["calls"] > 150
    assert found["failedNotInFlightOnVictim"] == 0, found
    assert found["failed"] <= CONCURRENCY, found
    kept = scale.records(cluster, calls)
    assert kept["feedbackAcknowledged"] > 0 and kept["feedbackLost"] == 0, kept


def test_a_rolling_restart_under_load_fails_no_call_and_loses_no_record(cluster):
    found = scale.rolling_restart(cluster, CONCURRENCY, before=60)
    calls = found.pop("_calls")
    assert found["failed"] == 0, found
    assert all(step["secondsToExit"] < 30 for step in found["steps"]), found["steps"]
    kept = scale.records(cluster, calls, wait_s=10)
    assert kept["feedbackAcknowledged"] > 0 and kept["feedbackLost"] == 0, kept
    assert kept["cardsShown"] > 0 and kept["cardsNotRecorded"] == 0, kept
