"""Writes issued cards and ratings in the background, in batches, one writer thread per process.

One small transaction per response made request threads queue for SQLite's write lock (two
worker processes, one file); a single writer per process that commits whatever has queued up
keeps request threads free. Records are flushed when the worker exits (gunicorn's worker_exit
hook, and atexit otherwise); a full queue falls back to writing in the request thread, so under
overload the cost returns to the caller rather than records being dropped. What is lost on a
hard kill (SIGKILL, power cut) is what was queued in the last moment: card records only —
feedback is written before it is acknowledged.

The writer lingers up to LINGER_S after the first record of a batch before committing: at a
steady trickle of calls each response cost its own transaction (its BEGIN waited for in a database
thread, its own commit), about a third as much CPU as the request itself in a profile of the
benchmark's order-select. `flush` cuts the linger short.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time

from .. import metrics
from ..storage import Database
from . import decisions, ledger

log = logging.getLogger("cds_service.audit")
_writers: list[LedgerWriter] = []
# A batch the database refused (locked past its busy timeout, a PostgreSQL restart) is tried again
# after these pauses before it is given up as lost: about five seconds in all, in the writer thread.
RETRY_DELAYS_S = (0.25, 1.0, 4.0)
LINGER_S = 0.05


class LedgerWriter:
    def __init__(
        self,
        db: Database,
        max_batch: int = 500,
        capacity: int = 20000,
        linger_s: float = LINGER_S,
        decision_window_s: int = decisions.DEFAULT_WINDOW_S,
    ):
        self._db = db
        self._window_s = decision_window_s
        self._linger_s = linger_s
        self._flushing = threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._max_batch = max_batch
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        _writers.append(self)

    def submit(self, service_id: str, hook: str, cards: list, ratings: list, request_id: str) -> None:
        item = (service_id, hook, cards, ratings, request_id)
        metrics.count_cards(service_id, cards)
        self._start()
        try:
            self._queue.put_nowait(item)
            metrics.ledger_depth(self._queue.qsize())
        except queue.Full:
            ledger.record_batch(self._db, [item], decision_window_s=self._window_s)

    def _start(self) -> None:
        # Started on first use, i.e. in the worker process after gunicorn has forked.
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="ledger-writer", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            until = time.monotonic() + self._linger_s
            while len(batch) < self._max_batch:
                wait = 0.0 if self._flushing.is_set() else until - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                ledger.record_batch(self._db, batch, RETRY_DELAYS_S, self._window_s)
            finally:
                for _ in batch:
                    self._queue.task_done()
                metrics.ledger_depth(self._queue.qsize())

    def flush(self) -> None:
        """Block until everything queued so far is written."""
        if self._thread is not None and self._thread.is_alive():
            self._flushing.set()
            try:
                self._queue.join()
            finally:
                self._flushing.clear()


def flush_all(*_args) -> None:
    """Flush every writer of this process (gunicorn worker_exit hook; atexit)."""
    for writer in list(_writers):
        writer.flush()


atexit.register(flush_all)
