"""Real PostgreSQL and Redis for storage tests, isolated per test and skipped when absent.

PostgreSQL: a fresh schema per test, selected with libpq's `options=-csearch_path=...` in the
URL, so the code under test needs no knowledge of it; dropped afterwards.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

PG_SERVER = "127.0.0.1:5432"
PG_DATABASE = "test"


def _pg_admin_url() -> str | None:
    import psycopg

    last = None
    for user in ("postgres", "root"):
        url = f"postgresql://{user}@{PG_SERVER}/{PG_DATABASE}"
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return url
        except psycopg.Error as exc:
            last = exc
    pytest.skip(
        f"PostgreSQL not reachable at {PG_SERVER}/{PG_DATABASE} as postgres or root "
        f"({type(last).__name__}); PostgreSQL tests skipped"
    )
    return None


@contextmanager
def postgres_url():
    """A postgresql:// URL whose search_path is a new, empty schema."""
    import psycopg

    admin = _pg_admin_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{admin}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def redis_url() -> str:
    """A Redis the service accepts as a replay store (append-only file on): a private redis-server
    started for the test session (tests.support.redis_server), never the machine's shared one."""
    from tests.support.redis_server import shared_redis_url

    return shared_redis_url()
