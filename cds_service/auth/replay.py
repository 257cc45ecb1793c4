"""Replay protection: each (iss, jti) is accepted once while the token could still be valid.

The record must be shared by every gunicorn worker and every replica, so it lives in the
database (one INSERT that either claims the jti or finds it taken) or in Redis (SET NX with an
expiry) when CDS_REDIS_URL is set. Keys are SHA-256 digests of issuer and jti: fixed length,
and the table never holds client-chosen strings.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from ..config import ConfigError
from ..errors import CdsError
from ..storage import Database, StorageError

log = logging.getLogger("cds_service.auth")
PURGE_EVERY_S = 60.0


def jti_key(iss: str, jti: str) -> str:
    return hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()


def _unavailable(reason: str) -> CdsError:
    return CdsError(
        503,
        "the service cannot check credentials right now; retry shortly",
        headers={"Retry-After": "5"},
        log_detail=reason,
    )


class DatabaseReplayGuard:
    def __init__(self, db: Database, clock=time.time):
        self.db = db
        self._clock = clock
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Claim the jti; False when it was already claimed and has not expired."""
        now = self._clock()
        self._maybe_purge(now)
        try:
            # a row left by an expired token of the same id is taken over, never accepted twice while live
            changed = self.db.execute(
                "INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?) "
                "ON CONFLICT (jti_key) DO UPDATE SET expires_at = excluded.expires_at "
                "WHERE auth_seen_jti.expires_at < ?",
                (jti_key(iss, jti), int(expires_at) + 1, int(now)),
            )
        except StorageError as exc:
            raise _unavailable(f"replay store unavailable: {exc}") from None
        return changed == 1

    def _maybe_purge(self, now: float) -> None:
        if now < self._next_purge or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._next_purge = now + PURGE_EVERY_S
            removed = self.db.execute("DELETE FROM auth_seen_jti WHERE expires_at < ?", (int(now),))
            if removed:
                log.debug("expired jti records purged", extra={"count": removed})
        except StorageError as exc:
            log.warning("jti purge failed", extra={"reason": str(exc)})
        finally:
            self._purge_lock.release()


class RedisReplayGuard:
    """Redis expires the keys itself, so there is nothing to purge.

    Durable by requirement, not by hope: a Redis that forgets its keys on a restart would accept
    every token used before it again, so the guard refuses to start unless Redis keeps an
    append-only file (`appendonly yes`; `check_durable`). With AOF's default fsync every second,
    a crash can forget at most the last second's ids; a clean restart forgets none.
    """

    PREFIX = "cds:jti:"

    def __init__(self, url: str, clock=time.time):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._clock = clock
        check_durable(self._redis, unreachable_ok=True)  # `serve` checked it reachable before forking

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        import redis

        ttl_ms = max(1000, int((expires_at - self._clock()) * 1000) + 1000)
        try:
            return bool(self._redis.set(self.PREFIX + jti_key(iss, jti), b"1", nx=True, px=ttl_ms))
        except redis.RedisError as exc:
            raise _unavailable(f"replay store unavailable: Redis {type(exc).__name__}") from None


def check_durable(client, unreachable_ok: bool = False) -> None:
    """ConfigError unless this Redis persists every write (AOF on): checked at start-up. A Redis
    that cannot be reached is an error too, unless `unreachable_ok` (then every call is a 503 until
    it answers, as at any other time)."""
    import redis

    try:
        persistence = client.info("persistence")
    except redis.RedisError as exc:
        if unreachable_ok:
            return
        raise ConfigError(
            f"CDS_REDIS_URL: cannot reach Redis to check that it persists JWT ids ({type(exc).__name__})"
        ) from None
    if str(persistence.get("aof_enabled")) != "1":
        raise ConfigError(
            "CDS_REDIS_URL: Redis runs without an append-only file (appendonly no): after a restart it would "
            "forget the JWT ids already used and accept replayed tokens. Start Redis with --appendonly yes "
            "(or leave CDS_REDIS_URL unset to keep JWT ids in the database)"
        )
