"""The jti store on every backend: first use wins, replays lose, expired records go away."""

from __future__ import annotations

import threading

import pytest

from cds_service.auth.replay import DatabaseReplayGuard, RedisReplayGuard, jti_key
from cds_service.storage import Database, migrate
from tests.support.databases import postgres_url, redis_url


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/jti.sqlite3")
        migrate(database)
        yield database
        database.close()
    else:
        with postgres_url() as url:
            database = Database(url)
            migrate(database)
            yield database
            database.close()


def test_first_use_then_replay_then_reuse_after_expiry(db):
    clock = Clock()
    guard = DatabaseReplayGuard(db, clock=clock)
    assert guard.first_use("iss-a", "j1", clock.now + 300)
    assert not guard.first_use("iss-a", "j1", clock.now + 300)
    assert guard.first_use("iss-b", "j1", clock.now + 300)  # ids are per issuer
    clock.now += 302
    assert guard.first_use("iss-a", "j1", clock.now + 300)  # the old record had expired


def test_expired_records_are_purged(db):
    clock = Clock()
    guard = DatabaseReplayGuard(db, clock=clock)
    for i in range(5):
        guard.first_use("iss", f"old-{i}", clock.now + 10)
    clock.now += 3600
    guard.first_use("iss", "new", clock.now + 10)
    assert db.query("SELECT COUNT(*) FROM auth_seen_jti") == [(1,)]
    assert db.query("SELECT jti_key FROM auth_seen_jti") == [(jti_key("iss", "new"),)]


def test_concurrent_claims_have_one_winner(db):
    guard = DatabaseReplayGuard(db)
    results, barrier = [], threading.Barrier(8)

    def claim():
        barrier.wait()
        results.append(guard.first_use("iss", "same", 4_000_000_000))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False] * 7 + [True]


def test_no_client_string_is_stored(db):
    DatabaseReplayGuard(db).first_use("https://iss.example", "visible-jti", 4_000_000_000)
    stored = db.query("SELECT jti_key FROM auth_seen_jti")[0][0]
    assert "visible" not in stored and len(stored) == 64


def test_redis_guard():
    import uuid

    guard = RedisReplayGuard(redis_url())
    jti = uuid.uuid4().hex
    import time

    assert guard.first_use("iss", jti, time.time() + 5)
    assert not guard.first_use("iss", jti, time.time() + 5)
    ttl = guard._redis.pttl(guard.PREFIX + jti_key("iss", jti))
    assert 0 < ttl <= 7000  # Redis forgets it soon after the token expires
    guard._redis.delete(guard.PREFIX + jti_key("iss", jti))


def test_an_unreachable_store_is_a_503_not_an_admission(tmp_path):
    from cds_service.errors import CdsError

    guard = DatabaseReplayGuard(Database("postgresql://nobody@127.0.0.1:1/none"))
    with pytest.raises(CdsError) as info:
        guard.first_use("iss", "j", 4_000_000_000)
    assert info.value.status == 503
    with pytest.raises(CdsError) as info:
        RedisReplayGuard("redis://127.0.0.1:1/0").first_use("iss", "j", 4_000_000_000)
    assert info.value.status == 503
