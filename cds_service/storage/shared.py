"""One migrated Database per process and URL, so every part of the service shares its connections.

Keyed by process id as well: a Database must never cross a fork (sockets and SQLite handles
do not survive it), and gunicorn workers each build their own app after forking.
"""

from __future__ import annotations

import logging
import os
import threading

from .database import Database
from .migrate import migrate

log = logging.getLogger("cds_service.storage")
_lock = threading.Lock()
_opened: dict[tuple[int, str], Database] = {}


def database_for(url: str, migration_timeout_s: float | None = None, **options) -> Database:
    """`options` (timeout_s, connect_timeout_s, max_connections) apply when this call opens the Database;
    `migration_timeout_s` bounds the wait for another process's migrations (storage.migrate)."""
    key = (os.getpid(), url)
    with _lock:
        db = _opened.get(key)
        if db is None:
            db = Database(url, **options)
            applied = migrate(db, lock_wait_s=migration_timeout_s)
            if applied:  # one line per database, by the one process that applied them
                log.info("schema migrated", extra={"versions": applied})
            _opened[key] = db
        return db
