"""The service's own small database: SQLite by default, PostgreSQL for several replicas.

One `Database` per process and URL (see `database_for`); tables come from the numbered SQL
files in `migrations/`, applied once at start-up whatever the number of workers starting.
"""

from __future__ import annotations

from .database import Database, StorageError
from .hook_lane import HookLane
from .migrate import migrate
from .shared import database_for

__all__ = ["Database", "HookLane", "StorageError", "database_for", "migrate"]
