"""Whether this replica's workers are all warm, so a balancer or Kubernetes may send it calls.

gunicorn opens the listening socket before its workers have built anything, and each worker only
accepts once it is warm (cds_service.warmup), so the first calls to a new replica would queue
behind a second of warm-up per worker. /readyz answers 503 until every worker of the replica has
warmed up once; a replica that is ready stays so while a replaced worker warms (the others serve).

The count lives in a word of shared memory the gunicorn master maps before it forks the workers;
outside `cds-service serve` (tests, `evaluate`) nothing is expected and the replica counts as warm.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

_expected = 0
_warmed: Any = None  # multiprocessing.Value("i"), shared by the master and its forked workers


def expect(workers: int) -> None:
    """In the master, before forking: this many workers must warm up before the replica is ready."""
    global _expected, _warmed
    _expected, _warmed = workers, multiprocessing.get_context("fork").Value("i", 0)


def worker_warm() -> bool:
    """In a worker, once warm (before it accepts its first connection). True in the one worker whose
    warm-up completed the replica's first full set: `serve` says "listening" there, when a call
    would be answered at once (a replaced worker later counts past it and says nothing)."""
    if _warmed is None:
        return False
    with _warmed.get_lock():
        _warmed.value += 1
        return _warmed.value == _expected


def workers() -> tuple[int, int]:
    """(workers warmed so far, workers expected); equal counts when nothing is expected."""
    if _warmed is None:
        return 0, 0
    return min(_warmed.value, _expected), _expected
