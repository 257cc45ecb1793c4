"""The storage layer on both engines: portable statements, transactions, migrations applied once."""

from __future__ import annotations

import threading

import pytest

from cds_service.config import ConfigError
from cds_service.storage import Database, StorageError, migrate
from cds_service.storage.database import _pg_placeholders
from cds_service.storage.migrate import load_migrations, split_statements
from tests.support.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/store.sqlite3")
        yield database
        database.close()
    else:
        with postgres_url() as url:
            database = Database(url)
            yield database
            database.close()


def test_placeholders_are_translated_outside_literals_only():
    sql = "SELECT '?', \"a?\", x FROM t WHERE y = ? AND z LIKE 'a%' AND w % 2 = ?"
    assert _pg_placeholders(sql) == "SELECT '?', \"a?\", x FROM t WHERE y = %s AND z LIKE 'a%%' AND w %% 2 = %s"


def test_statements_split_on_semicolons_but_not_inside_literals_or_comments():
    sql = "-- a comment; still a comment\nCREATE TABLE a (x VARCHAR(3) DEFAULT ';');\n\nINSERT INTO a VALUES ('b');\n-- trailing\n"
    assert split_statements(sql) == (
        "-- a comment; still a comment\nCREATE TABLE a (x VARCHAR(3) DEFAULT ';');",
        "INSERT INTO a VALUES ('b');",
    )
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE b (x INTEGER)")


def test_urls_choose_the_engine_and_bad_ones_fail_clearly(tmp_path):
    assert Database(f"sqlite:///{tmp_path}/a/b.sqlite3").kind == "sqlite"
    assert (tmp_path / "a").is_dir()  # the folder is created for a fresh clone's instance/
    assert Database("postgresql://u@127.0.0.1:1/x").kind == "postgresql"
    for url in ("mysql://x/y", "sqlite:///:memory:", "sqlite:///"):
        with pytest.raises(ConfigError, match="CDS_DATABASE_URL"):
            Database(url)


def test_shipped_migrations_are_numbered_and_parse():
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    assert migrations[0].version == 1 and migrations[0].statements


def test_migrations_apply_once_and_record_their_version(db):
    first = migrate(db)
    assert first == [m.version for m in load_migrations()]
    assert migrate(db) == []
    rows = db.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows[0] == (1, "auth_seen_jti")
    assert db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", ("k", 5)) == 1
    assert db.query("SELECT expires_at FROM auth_seen_jti WHERE jti_key = ?", ("k",)) == [(5,)]


def test_a_later_migration_is_applied_on_top(db, tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_first.sql").write_text("CREATE TABLE m_one (id INTEGER PRIMARY KEY);\n")
    assert migrate(db, migrations) == [1]
    (migrations / "0002_second.sql").write_text(
        "-- a comment\nCREATE TABLE m_two (id INTEGER PRIMARY KEY, note VARCHAR(20) DEFAULT 'a;b');\n"
        "INSERT INTO m_two (id) VALUES (1);\n"
    )
    assert migrate(db, migrations) == [2]
    assert db.query("SELECT note FROM m_two") == [("a;b",)]


def test_a_failing_migration_leaves_nothing_behind(db, tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_broken.sql").write_text("CREATE TABLE half (id INTEGER);\nTHIS IS NOT SQL;\n")
    with pytest.raises(StorageError):
        migrate(db, migrations)
    (migrations / "0001_broken.sql").write_text("CREATE TABLE half (id INTEGER);\n")
    assert migrate(db, migrations) == [1]  # the table from the failed attempt was rolled back


def test_concurrent_migrations_apply_each_version_exactly_once(db):
    """Workers and replicas start together; the lock makes exactly one of them migrate."""
    url = db.url
    results, errors = [], []

    def start():
        other = Database(url)
        try:
            results.append(migrate(other))
        except Exception as exc:  # collected, asserted below
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    applied = [v for r in results for v in r]
    assert sorted(applied) == [m.version for m in load_migrations()]
    assert db.query("SELECT COUNT(*) FROM schema_migrations") == [(len(applied),)]


def test_transactions_commit_or_roll_back_as_a_whole(db):
    migrate(db)
    with db.transaction():
        db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", ("a", 1))
        db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", ("b", 2))
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", ("c", 3))
            raise RuntimeError("abort")
    assert db.query("SELECT jti_key FROM auth_seen_jti ORDER BY jti_key") == [("a",), ("b",)]


def test_a_ledger_batch_is_written_by_one_statement_per_table_on_both_engines(db):
    from cds_service.audit.ledger import IssuedCard, IssuedRating, write
    from tests.support.ledger import entry

    migrate(db)
    db.execute_many("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", [])  # nothing to do
    items = [
        entry(
            "svc",
            "order-select",
            [IssuedCard(f"card-{n}", "mri-before-ct", "warning")],
            [IssuedRating(f"c-{n}", "mri", "no")],
            f"r{n}",
        )
        for n in range(5)
    ]
    write(db, items)
    write(db, items[:2])  # a batch written again adds nothing (ON CONFLICT DO NOTHING)
    assert db.query("SELECT uuid FROM cds_card ORDER BY uuid") == [(f"card-{n}",) for n in range(5)]
    assert db.query("SELECT consult_id FROM cds_rating ORDER BY consult_id") == [(f"c-{n}",) for n in range(5)]


def test_each_thread_uses_its_own_connection(db):
    migrate(db)
    errors = []

    def write(n):
        try:
            for i in range(20):
                db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", (f"{n}-{i}", i))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert db.query("SELECT COUNT(*) FROM auth_seen_jti") == [(80,)]


def test_statement_errors_do_not_echo_values(db):
    migrate(db)
    db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", ("secret-value", 1))
    with pytest.raises(StorageError) as info:
        db.execute("INSERT INTO auth_seen_jti (jti_key, expires_at) VALUES (?, ?)", ("secret-value", 1))
    assert "secret-value" not in str(info.value)


def test_a_worker_never_opens_more_postgresql_connections_than_its_pool_size():
    """The connection budget (replicas x workers x (pool + 5) under max_connections) holds only if
    a worker's pool is really bounded: eight callers at once share three connections, each waiting
    for a free one rather than failing."""
    with postgres_url() as url:
        db = Database(url, timeout_s=10, max_connections=3)
        start, backends, errors = threading.Barrier(8), set(), []

        def call():
            start.wait(10)
            try:
                with db.transaction():
                    backends.add(db.query("SELECT pg_backend_pid()")[0][0])
                    db.query("SELECT pg_sleep(0.2)")
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        db.close()
    assert not errors
    assert 1 <= len(backends) <= 3, backends


def test_the_pool_size_is_a_setting_with_a_bounded_default():
    from cds_service.config import Settings

    assert Settings.from_env({}).db_pool_size == 8
    assert Settings.from_env({"CDS_DB_POOL_SIZE": "3"}).db_pool_size == 3
    with pytest.raises(ConfigError, match="CDS_DB_POOL_SIZE"):
        Settings.from_env({"CDS_DB_POOL_SIZE": "0"})
