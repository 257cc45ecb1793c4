"""One migrated Database per process and URL, so every part of the service shares its connections.

Keyed by process id as well: a Database must never cross a fork (sockets and SQLite handles
do not survive it), and gunicorn workers each build their own app after forking.
"""

from __future__ import annotations

import os
import threading

from .database import Database
from .migrate import migrate

_lock = threading.Lock()
_opened: dict[tuple[int, str], Database] = {}


def database_for(url: str, **timeouts) -> Database:
    """`timeouts` (timeout_s, connect_timeout_s) apply when this call opens the Database."""
    key = (os.getpid(), url)
    with _lock:
        db = _opened.get(key)
        if db is None:
            db = Database(url, **timeouts)
            migrate(db)
            _opened[key] = db
        return db
