"""Storage on the hook path: answered within a few tens of milliseconds, or not at all.

A clinician's card must never wait on the database. The few storage calls a hook makes (reading
active suppressions, claiming the last look before signing) go through here: each runs on its own
small pool of connections whose statements time out at `bound_s` (PostgreSQL statement_timeout,
SQLite busy timeout), in a helper thread the caller waits on for `bound_s` only; connecting,
a stalled socket or a lock can therefore never hold the call longer. A call that fails or times out
raises StorageError and the caller fails safe (shows the card). After a failure the lane stays
shut for `cooldown_s` (a circuit breaker): during a table lock or a restart the hook path does not
even try, so it answers as fast as without storage, and one call per cooldown probes again.

A burst of calls (more at once than the lane has helpers) waits for a free helper, but only within
the same bound: the wait for a helper and the statement share `bound_s`. Refusing at once instead
showed an answered card again to a clinician whenever a worker took five calls together (each
call makes one or two lane calls), although storage would have answered in a millisecond. Nothing
queues behind a stuck helper: a call that gets none in time gives up without submitting work.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from .. import metrics
from .database import Database, StorageError

log = logging.getLogger("cds_service.storage")


class HookLane:
    def __init__(self, url: str, bound_s: float = 0.05, cooldown_s: float = 1.0, workers: int = 4):
        self.bound_s = bound_s
        self.cooldown_s = cooldown_s
        self.db = Database(url, timeout_s=bound_s, connect_timeout_s=1.0, max_connections=workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hook-db")
        self._workers = workers
        self._free = threading.BoundedSemaphore(workers)  # helpers not running a call
        self._lock = threading.Lock()
        self._shut_until = 0.0

    def call(self, fn, *args):
        """fn(db, *args) within bound_s; StorageError (already counted) when storage cannot answer in time."""
        deadline = time.monotonic() + self.bound_s
        with self._lock:
            if time.monotonic() < self._shut_until:
                metrics.hook_storage_skipped("open")
                raise StorageError("storage skipped on the hook path (failing recently)")
        if not self._free.acquire(timeout=self.bound_s):  # every helper stayed busy for the whole bound
            metrics.hook_storage_skipped("timeout")
            raise StorageError(f"storage busy on the hook path for {self.bound_s * 1000:.0f} ms")
        future = self._pool.submit(self._run, fn, args)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise self._trip("timeout", f"no answer within {self.bound_s * 1000:.0f} ms") from None
        except StorageError as exc:
            raise self._trip("error", str(exc)) from None

    def _run(self, fn, args):
        try:
            return fn(self.db, *args)
        finally:
            self._free.release()

    def _trip(self, reason: str, detail: str) -> StorageError:
        metrics.hook_storage_skipped(reason)
        with self._lock:
            first = time.monotonic() >= self._shut_until
            self._shut_until = time.monotonic() + self.cooldown_s
        if first:
            log.warning("hook-path storage unavailable; cards are shown without it", extra={"reason": detail})
        return StorageError(f"hook-path storage: {detail}")

    def warm(self) -> bool:
        """Open the lane's connections before the first call (worker warm-up), outside the bound:
        a first connection costs more than the bound allows. False when storage did not answer."""
        try:
            self.db.prepare(self._workers)
        except StorageError:
            return False
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.db.close()
