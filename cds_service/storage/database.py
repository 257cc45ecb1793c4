"""A thin, portable layer over SQLite (sqlite3) and PostgreSQL (psycopg 3).

Callers write one SQL dialect with `?` placeholders; for PostgreSQL they are rewritten to
psycopg's `%s`. Connections are pooled per process (MAX_CONNECTIONS, idle ones reused):
a statement borrows one, a transaction holds one on its thread until it ends, and neither
driver's connection is ever used by two threads (or greenlets) at once. Under gevent workers a
connection per greenlet would mean one per client connection, never closed; the pool bounds it.
SQLite runs in WAL mode with a busy timeout so that several worker processes can write the
same file without "database is locked" errors.

No statement may wait longer than `timeout_s` (CDS_DB_TIMEOUT_S; SQLite's busy timeout,
PostgreSQL's statement_timeout) nor a connection longer than `connect_timeout_s`: a locked or
stalled database becomes a StorageError, which callers answer with 503 and Retry-After, well
before an EHR gives up on the call. Under gevent, SQLite's statements (and its busy waits) run
in gevent's thread pool, so a locked SQLite file never blocks a worker's other requests.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import ConfigError

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_CONNECT_TIMEOUT_S = 3.0
# Per Database object (one per worker process): PostgreSQL's default is CDS_DB_POOL_SIZE's; SQLite
# has one writer at a time anyway, so more connections would only queue on its lock, and under
# gevent occupy the native threads the lock holder needs for its next statement.
POOL_SIZE = {"postgresql": 8, "sqlite": 2}


class StorageError(RuntimeError):
    """The database could not be reached or refused a statement; the message never carries values."""


def _pg_placeholders(sql: str) -> str:
    """`?` -> `%s` and `%` -> `%%`, leaving quoted literals and identifiers untouched."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def sqlite_path(url: str) -> Path:
    """sqlite:///relative/to/cwd.db or sqlite:////absolute/path.db (the usual URL convention)."""
    rest = url[len("sqlite:///") :]
    if not rest or rest.startswith(":memory:") or "?" in rest:
        raise ConfigError(
            "CDS_DATABASE_URL: expected sqlite:///path/to/file.sqlite3 "
            "(an in-memory database cannot be shared by threads and workers)"
        )
    return Path(rest)


class Database:
    def __init__(
        self,
        url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_connections: int | None = None,
    ):
        self.url = url
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            self.path: Path | None = sqlite_path(url)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgresql"
            self.path = None
        else:
            scheme = urlsplit(url).scheme or "(none)"
            raise ConfigError(f"CDS_DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:/// or postgresql://")
        self._local = threading.local()  # the connection this thread's transaction holds
        self._all: list[Any] = []
        self._idle: list[Any] = []
        self._all_lock = threading.Lock()
        size = max_connections or POOL_SIZE[self.kind]
        self._slots = threading.BoundedSemaphore(min(size, POOL_SIZE["sqlite"]) if self.kind == "sqlite" else size)

    # -- connections -------------------------------------------------------------------------
    def _connect(self):
        if self.kind == "sqlite":
            try:
                # check_same_thread off only so close() may run from another thread; use stays per-thread
                conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
                self._enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open the SQLite database ({type(exc).__name__})") from None
            return conn
        import psycopg

        timeout_ms = int(self.timeout_s * 1000)
        try:
            # tcp_user_timeout: a server that stops acknowledging (network gone) fails the statement too
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, round(self.connect_timeout_s)),
                tcp_user_timeout=timeout_ms + 1000,
            )
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{timeout_ms}ms",))
            return conn
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL ({type(exc).__name__})") from None

    def _enable_wal(self, conn) -> None:
        """Switching a new file to WAL needs an exclusive lock and SQLite does not apply the busy
        timeout to it, so workers opening the same fresh file at once retry here instead of failing."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise StorageError("cannot switch the SQLite database to WAL mode (locked)") from None
                time.sleep(0.02)

    def _take(self):
        """An idle connection, or a new one; waits at most `timeout_s` for a free slot."""
        if not self._slots.acquire(timeout=self.timeout_s):
            raise StorageError("no database connection became free in time")
        try:
            with self._all_lock:
                conn = self._idle.pop() if self._idle else None
            if conn is not None and self.kind == "postgresql" and (conn.closed or conn.broken):
                with self._all_lock:
                    self._all.remove(conn)
                conn = None
            if conn is None:
                conn = self._connect()
                with self._all_lock:
                    self._all.append(conn)
            return conn
        except BaseException:
            self._slots.release()
            raise

    def prepare(self, count: int) -> None:
        """Open `count` pooled connections now (raises StorageError), so no later call pays for connecting."""
        held = []
        try:
            for _ in range(count):
                held.append(self._take())
        finally:
            for conn in held:
                self._give_back(conn)

    def _give_back(self, conn) -> None:
        with self._all_lock:
            self._idle.append(conn)
        self._slots.release()

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        held = getattr(self._local, "conn", None)
        if held is not None:  # inside this thread's transaction: its connection
            yield held
            return
        conn = self._take()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _run(self, call, *args):
        """Call a SQLite function; under gevent in a native thread (the C busy wait would block the loop).

        Inside a transaction the write lock is already ours (BEGIN IMMEDIATE), so nothing can wait:
        statements then run right here, without a greenlet switch between them. Sent to the pool,
        each would hold the lock across a switch, and while other requests keep the worker busy the
        other worker's BEGIN waits out its busy timeout: a 503 from a lock that should last
        microseconds."""
        pool = _gevent_threadpool() if self.kind == "sqlite" and not getattr(self._local, "locked", False) else None
        if pool is None:
            return call(*args)
        ok, value = pool.apply(_captured, (call, args))  # gevent would print a failure as a traceback
        if not ok:
            raise value
        return value

    def _sql(self, sql: str) -> str:
        return _pg_placeholders(sql) if self.kind == "postgresql" else sql

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self.kind == "sqlite":
            return (sqlite3.Error,)
        import psycopg

        return (psycopg.Error,)

    # -- statements ----------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self._cursor() as cur:
            self._run(cur.execute, self._sql(sql), tuple(params))
            return cur.rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence]) -> None:
        """One statement over many rows (a batch of issued cards): the driver loops over the rows,
        not Python, one statement at a time (a third of the ledger writer's time went to that)."""
        if rows:
            with self._cursor() as cur:
                self._run(cur.executemany, self._sql(sql), [tuple(row) for row in rows])

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._cursor() as cur:
            self._run(cur.execute, self._sql(sql), tuple(params))
            return list(self._run(cur.fetchall))

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        errors = self._errors()
        with self._borrowed() as conn:
            try:
                cur = conn.cursor()
                try:
                    yield cur
                finally:
                    cur.close()
            except errors as exc:
                if getattr(self._local, "in_tx", False):
                    raise  # the transaction wrapper reports it once
                raise StorageError(f"database statement failed ({type(exc).__name__})") from None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside run in one transaction on this thread's connection.

        SQLite takes its write lock at once (BEGIN IMMEDIATE, waited for in a native thread under
        gevent): every transaction here writes, two processes that read-then-write never both read
        the old state, and the statements after it never wait (see _run). PostgreSQL callers that
        read-then-write use advisory locks.
        """
        if getattr(self._local, "in_tx", False):
            raise StorageError("nested transactions are not supported")
        errors = self._errors()
        conn = self._take()
        self._local.conn, self._local.in_tx = conn, True
        try:
            if self.kind == "sqlite":
                self._begin_sqlite(conn)
                self._local.locked = True
                try:
                    yield self
                except BaseException:
                    self._run(conn.execute, "ROLLBACK")
                    raise
                self._run(conn.execute, "COMMIT")
            else:
                with conn.transaction():
                    yield self
        except errors as exc:
            raise StorageError(f"database transaction failed ({type(exc).__name__})") from None
        finally:
            self._local.conn, self._local.in_tx, self._local.locked = None, False, False
            self._give_back(conn)

    def _begin_sqlite(self, conn) -> None:
        """Take SQLite's write lock: on the spot when it is free, so the whole transaction runs
        without one greenlet switch while holding it; otherwise wait for it in a native thread."""
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError:
            pass  # held by another process: wait below, up to the busy timeout
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        self._run(conn.execute, "BEGIN IMMEDIATE")

    def close(self) -> None:
        """Close every connection this Database opened (tests; shutdown)."""
        with self._all_lock:
            conns, self._all, self._idle = self._all, [], []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # closing is best effort
                pass
        self._local = threading.local()


def _captured(call, args) -> tuple[bool, Any]:
    try:
        return True, call(*args)
    except Exception as exc:  # handed back to the calling greenlet, which raises it
        return False, exc


def _gevent_threadpool():
    """gevent's native thread pool when this process is monkey-patched (a gevent worker), else None."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("socket"):
        return None
    import gevent

    return gevent.get_hub().threadpool
