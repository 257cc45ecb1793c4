"""Versioned schema migrations: numbered SQL files, each applied exactly once per database.

Files are `migrations/NNNN_what.sql`; the number is the version, recorded in
`schema_migrations` in the same transaction as the change. Several workers or replicas may
start together, so the whole check-and-apply runs under one lock: a PostgreSQL advisory
transaction lock, or SQLite's write lock taken up front by BEGIN IMMEDIATE.
Migrations must be portable SQL (they run on both engines) and must not contain `?`.

On PostgreSQL the lock is keyed by the schema as well, so services (or test runs) that keep their
tables in different schemas of one database never wait on each other; the processes that find it
taken wait up to `lock_wait_s` (CDS_MIGRATION_TIMEOUT_S), not the few seconds a call's statement
may take: a replica starting while another applies a long migration waits for it, then finds
nothing left to do.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_ADVISORY_KEY = 0x4344534D  # "CDSM": with the schema's hash, the two-part advisory lock key


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> tuple[str, ...]:
    """Statements ending in `;`, using SQLite's own notion of completeness (quotes, comments)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            text = pending.strip()
            if _strip_comments(text):
                statements.append(text)
            pending = ""
    if _strip_comments(pending.strip()):
        raise ValueError("migration ends with an unterminated statement (missing ';')")
    return tuple(statements)


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("--")).strip().strip(";").strip()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files are named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"{path}: version {version} is used twice")
        found[version] = Migration(version, match.group(2), split_statements(path.read_text(encoding="utf-8")))
    return [found[v] for v in sorted(found)]


def migrate(db: Database, directory: Path = MIGRATIONS_DIR, lock_wait_s: float | None = None) -> list[int]:
    """Apply the migrations this database lacks; the versions applied now (usually none)."""
    migrations = load_migrations(directory)
    applied_now: list[int] = []
    with db.transaction():
        if db.kind == "postgresql":
            if lock_wait_s is not None:  # this transaction only (set_config's is_local)
                db.query("SELECT set_config('statement_timeout', ?, true)", (f"{int(lock_wait_s * 1000)}ms",))
            db.query("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", (_ADVISORY_KEY,))
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)"
        )
        done = {row[0] for row in db.query("SELECT version FROM schema_migrations")}
        for migration in migrations:
            if migration.version in done:
                continue
            for statement in migration.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, int(time.time())),
            )
            applied_now.append(migration.version)
    return applied_now
