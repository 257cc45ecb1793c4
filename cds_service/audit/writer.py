"""Writes issued cards and ratings in the background, in batches, one writer thread per process.

One small transaction per response made request threads queue for SQLite's write lock (two
worker processes, one file); a single writer per process that commits whatever has queued up
keeps request threads free, and the hook path never waits on storage. Records are flushed when
the worker exits (gunicorn's worker_exit hook, and atexit otherwise).

A batch the database refuses (a lock past CDS_DB_TIMEOUT_S, a restart, a lost connection) goes
to the spool (audit.spool) at once, and the writer replays the spool, oldest first, with a
growing pause (RETRY_MIN_S doubling up to RETRY_MAX_S) until the database takes it: records are
kept across the fault and across a worker restart, and only a full spool drops any (counted).
A full in-memory queue sends the record to the spool too, so a caller never waits on storage.
What a hard kill (SIGKILL, power cut) can lose is what was queued in memory in that moment:
card records only — feedback is written before it is acknowledged.

The writer lingers up to LINGER_S after the first record of a batch before committing: at a
steady trickle of calls each response cost its own transaction (its BEGIN waited for in a database
thread, its own commit), about a third as much CPU as the request itself in a profile of the
benchmark's order-select. `flush` cuts the linger short (it wakes the writer).

Feedback can arrive before its card's record is in the database (a click within a second of the
card): `hurry` is how the feedback endpoint brings forward what this host still holds, this
process's queue and any worker's spool, before it decides a card was never issued.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time

from .. import metrics
from ..storage import Database, StorageError
from . import decisions, ledger
from .ledger import LedgerEntry
from .spool import Spool

log = logging.getLogger("cds_service.audit")
_writers: list[LedgerWriter] = []
LINGER_S = 0.05
RETRY_MIN_S = 0.25
RETRY_MAX_S = 15.0
_WAKE = object()  # put by `flush`: ends the writer's linger at once; never written


class LedgerWriter:
    def __init__(
        self,
        db: Database,
        spool: Spool,
        max_batch: int = 500,
        capacity: int = 20000,
        linger_s: float = LINGER_S,
        decision_window_s: int = decisions.DEFAULT_WINDOW_S,
    ):
        self._db = db
        self.spool = spool
        self._window_s = decision_window_s
        self._linger_s = linger_s
        self._flushing = threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        # Entries queued and not yet written or spooled, counted here rather than with the queue's
        # task_done/join: `flush` needs a timeout, which queue.Queue.join lacks (and gevent's
        # patched queue has none of its internals).
        self._pending = 0
        self._settled = threading.Condition()
        self._max_batch = max_batch
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._retry_at = 0.0  # when the spool is next tried (monotonic); 0: now
        self._pause = RETRY_MIN_S
        _writers.append(self)

    def submit(self, entry: LedgerEntry) -> None:
        """Queue one response's record; never waits on storage (a full queue spools it)."""
        metrics.count_cards(entry.service_id, entry.cards)
        self.start()
        if self._enqueue(entry):
            metrics.ledger_depth(self._queue.qsize())
        else:
            self.spool.put([entry])

    def _enqueue(self, item) -> bool:
        with self._settled:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                return False
            self._pending += 1
            return True

    def start(self) -> None:
        """Start the writer thread (in the worker process, after gunicorn has forked): it also
        replays what a previous worker left in the spool."""
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="ledger-writer", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._wait_s())
            except queue.Empty:
                self._replay()
                continue
            batch = [first]
            until = time.monotonic() + self._linger_s
            while len(batch) < self._max_batch:
                wait = 0.0 if self._flushing.is_set() else until - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                entries = [e for e in batch if e is not _WAKE]
                if entries:
                    self._write(entries)
                self._replay()
            finally:
                with self._settled:
                    self._pending -= len(batch)
                    self._settled.notify_all()
                metrics.ledger_depth(self._queue.qsize())

    def _wait_s(self) -> float | None:
        """How long the loop may sleep on an empty queue: until the next spool replay is due."""
        if not self.spool.backlog():
            return 5.0  # look for a dead worker's spool now and then
        return max(0.01, self._retry_at - time.monotonic())

    def _write(self, batch: list[LedgerEntry]) -> None:
        if self.spool.backlog():  # keep the order: older records wait in the spool already
            self.spool.put(batch)
            return
        try:
            ledger.write(self._db, batch, self._window_s)
        except StorageError as exc:
            log.warning("issued cards spooled until the database answers", extra={"reason": str(exc)})
            self._failed()
            self.spool.put(batch)

    def _failed(self) -> None:
        self._retry_at = time.monotonic() + self._pause
        self._pause = min(RETRY_MAX_S, self._pause * 2)

    def _replay(self) -> None:
        """Write spooled batches, oldest first, while the database takes them."""
        if time.monotonic() < self._retry_at:
            return
        for path in self.spool.pending():
            try:
                entries = self.spool.read(path)
            except (OSError, ValueError, TypeError, KeyError) as exc:  # unreadable: keep it aside, say so
                log.error("spooled batch unreadable; left in place", extra={"file": path.name, "reason": str(exc)})
                path.rename(path.with_suffix(".bad"))
                continue
            try:
                ledger.write(self._db, entries, self._window_s)
            except StorageError:
                self._failed()
                return
            self.spool.done(path)
            log.info("spooled issued cards recorded", extra={"entries": len(entries)})
        self._retry_at, self._pause = 0.0, RETRY_MIN_S

    def flush(self, timeout_s: float | None = None) -> bool:
        """Block until everything queued so far is written (or spooled); False when `timeout_s`
        passed first (the records stay queued: nothing is lost, the caller just stops waiting)."""
        if self._thread is None or not self._thread.is_alive() or not self._pending:
            return True
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._flushing.set()
        try:
            self._enqueue(_WAKE)  # the writer may be lingering for more: wake it (a full queue keeps it busy)
            with self._settled:
                while self._pending:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._settled.wait(left)
            return True
        finally:
            self._flushing.clear()

    def hurry(self, uuids: list[str], db: Database, timeout_s: float, scanned: set[str]) -> None:
        """Bring the records of these cards to `db` if this host holds them: this process's queue
        is flushed (within `timeout_s`), and spooled entries carrying one of the cards, whichever
        worker spooled them, are written now (idempotent: the owner's replay later changes
        nothing). `scanned` holds the spool files already read for this request. Raises
        StorageError when the database refuses them: storage is down, say so rather than refuse."""
        self.flush(timeout_s)
        held = self.spool.holding(uuids, scanned)
        if held:
            ledger.write(db, held, self._window_s)
            log.info("spooled issued cards recorded for their feedback", extra={"entries": len(held)})


def flush_all(*_args) -> None:
    """Flush every writer of this process (gunicorn worker_exit hook; atexit)."""
    for writer in list(_writers):
        writer.flush()


atexit.register(flush_all)
