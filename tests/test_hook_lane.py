"""storage.HookLane against real PostgreSQL: a burst of hook-path storage calls larger than the
lane's helpers is answered (each waits for a helper within the bound), not failed safe at once.

Before, the fifth call that found four helpers busy was refused on the spot, so a worker taking
five order-sign calls together showed an answered card again (suppression skipped) although
the database answered each call in a millisecond."""

from __future__ import annotations

import threading
import time

import pytest

from cds_service.storage import HookLane, StorageError
from tests.support.databases import postgres_url

HELPERS = 4
CALLS = 8


def test_a_burst_larger_than_the_helpers_waits_for_them_within_the_bound():
    with postgres_url() as url:
        lane = HookLane(url, bound_s=30.0, workers=HELPERS)  # the wait is under test, not the bound
        try:
            assert lane.warm()
            gate, running, entered = threading.Event(), [], []
            results: list = []

            def held(db):
                running.append(1)
                assert gate.wait(30)
                return db.query("SELECT 1")[0][0]

            def caller():
                entered.append(1)
                try:
                    results.append(lane.call(held))
                except StorageError as exc:
                    results.append(exc)

            threads = [threading.Thread(target=caller) for _ in range(CALLS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while (len(running) < HELPERS or len(entered) < CALLS) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(running) == HELPERS, "every helper holds a call; the other calls wait for one"
            time.sleep(0.3)  # time for a lane that refuses busy calls to refuse them (none must be)
            gate.set()
            for thread in threads:
                thread.join(30)
            assert results == [1] * CALLS
        finally:
            lane.close()


def test_a_call_that_gets_no_helper_within_the_bound_fails_safe_without_queueing_work():
    with postgres_url() as url:
        lane = HookLane(url, bound_s=0.2, workers=1)
        try:
            assert lane.warm()
            gate, calls = threading.Event(), []

            def held(db):
                calls.append("held")
                assert gate.wait(30)
                return 1

            first = threading.Thread(target=lambda: _quiet(lane.call, held))
            first.start()
            while not calls:
                time.sleep(0.01)
            with pytest.raises(StorageError):  # busy for the whole bound (or the lane shut by then)
                lane.call(lambda db: calls.append("queued"))
            gate.set()
            first.join(30)
            assert calls == ["held"], "the refused call left no work behind"
        finally:
            lane.close()


def _quiet(call, *args):
    try:
        call(*args)
    except StorageError:
        pass
