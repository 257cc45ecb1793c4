"""Feedback that arrives before its card's record reaches the database (a click within a second of
the card) is believed, not refused as an unknown card: the record may wait in this worker's
ledger queue, in another worker's, or in a spool after a storage fault. While storage is down the
answer is a 503 with Retry-After and nothing is stored. Real PostgreSQL throughout; the waits are
driven (a held writer released by the test, a clock and sleep the test moves), never slept out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from cds_service.audit import feedback
from cds_service.audit.ledger import IssuedCard
from cds_service.audit.spool import Spool
from cds_service.audit.writer import LedgerWriter
from cds_service.auth.identity import LOCAL
from cds_service.storage import Database, database_for
from tests.support.databases import postgres_url
from tests.support.ledger import SYSTEM, entry
from tests.support.safety import SELECT, positive

HOOK = f"/cds-services/{SELECT}"
FEEDBACK = HOOK + "/feedback"
HELD = 3600.0  # a writer that lingers this long commits only when flushed


def _override(card: dict) -> dict:
    offered = card["overrideReasons"][0]
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": offered["system"], "code": offered["code"]}},
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }


def _held_writer(url: str, spool_dir) -> LedgerWriter:
    """A worker's ledger writer whose batch waits until it is flushed (as if its linger never ended)."""
    return LedgerWriter(Database(url, timeout_s=1.0), Spool(spool_dir, 1 << 20), linger_s=HELD)


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _waiting(base: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("cds_feedback_waiting "))


def _until(predicate, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.02)


# -- over HTTP, the app on loopback ---------------------------------------------------------------


def test_feedback_for_a_card_still_in_this_workers_queue_is_stored(live_app, tmp_path):
    with postgres_url() as url:
        base, runtime = live_app({"CDS_DATABASE_URL": url})
        runtime.ledger = _held_writer(url, tmp_path / "spool")
        [card] = requests.post(base + HOOK, json=positive(), timeout=30).json()["cards"]
        assert _count(url, "cds_card") == 0, "the record is still queued"
        answer = requests.post(base + FEEDBACK, json={"feedback": [_override(card)]}, timeout=30)
        assert answer.json() == {"received": 1, "stored": 1}, answer.text


def test_feedback_for_a_card_still_in_another_workers_queue_waits_for_it(live_app, tmp_path):
    """Worker A issued the card and has not written it yet; the feedback reaches worker B, which
    waits (polling) until A's writer commits, then stores it."""
    with postgres_url() as url:
        base_a, runtime_a = live_app({"CDS_DATABASE_URL": url})
        base_b, _ = live_app({"CDS_DATABASE_URL": url}, feedback_wait_s=60.0)  # the release is the test's
        runtime_a.ledger = _held_writer(url, tmp_path / "spool-a")
        [card] = requests.post(base_a + HOOK, json=positive(), timeout=30).json()["cards"]
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(requests.post, base_b + FEEDBACK, json={"feedback": [_override(card)]}, timeout=90)
            _until(lambda: _waiting(base_b) >= 1, "worker B waiting for the card's record")
            assert _count(url, "cds_feedback") == 0
            assert runtime_a.ledger.flush(30)  # worker A's writer commits
            assert answer.result(90).json() == {"received": 1, "stored": 1}
        assert _waiting(base_b) == 0


def test_feedback_while_storage_is_down_is_a_503_and_the_spooled_card_is_believed_after(live_app, tmp_path):
    """During a table lock the card's record goes to a spool (a worker that is alive and waiting out
    its retry pause owns it): feedback then is a 503 with Retry-After and stores nothing; once the
    lock goes, the same feedback is stored at once, the spooled record written for it."""
    with postgres_url() as url:
        base, runtime = live_app({"CDS_DATABASE_URL": url, "CDS_DB_TIMEOUT_S": "1"})
        spool_dir = runtime.ledger.spool.directory
        other_worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        try:
            with psycopg.connect(url) as locker:
                locker.execute("LOCK TABLE cds_card, cds_rating, cds_feedback IN ACCESS EXCLUSIVE MODE")
                [card] = requests.post(base + HOOK, json=positive(), timeout=30).json()["cards"]
                _until(lambda: list(spool_dir.glob("*.spool")), "the record spooled")
                [spooled] = spool_dir.glob("*.spool")
                host, _pid, sequence, count = spooled.name[: -len(".spool")].rsplit("~", 3)
                owned = spooled.with_name(f"{host}~{other_worker.pid}~{sequence}~{count}.spool")
                os.rename(spooled, owned)  # another worker's spool: this one never replays it
                down = requests.post(base + FEEDBACK, json={"feedback": [_override(card)]}, timeout=30)
                assert down.status_code == 503, down.text
                assert down.headers["Retry-After"] == "5" and down.json()["error"] == "unavailable"
                locker.rollback()
            assert _count(url, "cds_feedback") == 0, "nothing stored while storage was down"
            answer = requests.post(base + FEEDBACK, json={"feedback": [_override(card)]}, timeout=30)
            assert answer.json() == {"received": 1, "stored": 1}, answer.text
            assert owned.exists(), "the owner still replays its spool (writing it again changes nothing)"
        finally:
            other_worker.kill()
            other_worker.wait()


def test_feedback_for_a_card_never_issued_is_refused_after_the_wait(live, tmp_path):
    with postgres_url() as url:
        base = live({"CDS_DATABASE_URL": url}, feedback_wait_s=0.3)
        item = {**_override(requests.post(base + HOOK, json=positive(), timeout=30).json()["cards"][0])}
        item["card"] = "00000000-0000-4000-8000-000000000001"
        answer = requests.post(base + FEEDBACK, json={"feedback": [item]}, timeout=30).json()
        assert answer["stored"] == 0 and [r["reason"] for r in answer["refused"]] == ["unknown-card"]
        assert _count(url, "cds_feedback") == 0


# -- the wait itself, with its clock and sleep driven ---------------------------------------------


class DrivenTime:
    """The wait's clock and sleep: sleeping moves the clock; `on_sleep` runs at each pause."""

    def __init__(self, on_sleep=None):
        self.now, self.pauses, self.on_sleep = 1000.0, [], on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.pauses))


def _card(uuid: str) -> IssuedCard:
    return IssuedCard(uuid, "mri-before-ct", "warning", (), override_reasons=(f"{SYSTEM}|mdt-advised",))


@pytest.fixture
def pg(tmp_path):
    with postgres_url() as url:
        db = database_for(url)
        own = LedgerWriter(Database(url, timeout_s=1.0), Spool(tmp_path / "own", 1 << 20))
        yield url, db, own
        db.close()


def _wait(db, own, uuids, time_: DrivenTime, wait_s: float = 2.0):
    scanned: set[str] = set()
    return feedback.await_issued(
        lambda wanted: feedback.issued_cards(db, "svc", LOCAL.key, wanted),
        lambda wanted, left: own.hurry(wanted, db, left, scanned),
        uuids,
        wait_s,
        clock=time_.clock,
        sleep=time_.sleep,
    )


def test_the_wait_polls_until_another_workers_record_lands(pg, tmp_path):
    url, db, own = pg
    other = _held_writer(url, tmp_path / "other")
    other.submit(entry("svc", "order-select", [_card("c-late")]))
    time_ = DrivenTime(on_sleep=lambda n: n == 3 and other.flush(30))  # it commits during the third pause
    found = _wait(db, own, ["c-late"], time_)
    assert set(found) == {"c-late"} and found["c-late"].reasons == {f"{SYSTEM}|mdt-advised"}
    assert time_.pauses == [feedback.POLL_S] * 3


def test_the_wait_is_bounded_and_ends_exactly_at_its_deadline(pg):
    _url, db, own = pg
    own.start()
    time_ = DrivenTime()
    assert _wait(db, own, ["never-issued"], time_, wait_s=2.0) == {}
    assert time_.now == pytest.approx(1002.0)
    assert len(time_.pauses) == pytest.approx(2.0 / feedback.POLL_S, abs=1)


def test_cards_found_at_once_cost_no_wait(pg):
    _url, db, own = pg
    own.submit(entry("svc", "order-select", [_card("c-now")]))
    own.flush(30)
    time_ = DrivenTime()
    assert set(_wait(db, own, ["c-now"], time_)) == {"c-now"} and time_.pauses == []


def test_a_flush_wakes_a_lingering_writer_and_is_bounded(tmp_path):
    """`flush` ends the writer's linger at once (feedback cannot wait out a linger), and a flush
    that cannot finish (the writer blocked on a lock) returns False after its timeout."""
    with postgres_url() as url:
        database_for(url)
        writer = _held_writer(url, tmp_path / "spool")
        writer.submit(entry("svc", "order-select", [_card("c-1")]))
        assert writer.flush(30) and _count(url, "cds_card") == 1
        with psycopg.connect(url) as locker:
            locker.execute("LOCK TABLE cds_card IN ACCESS EXCLUSIVE MODE")
            slow = LedgerWriter(Database(url, timeout_s=30.0), Spool(tmp_path / "slow", 1 << 20), linger_s=HELD)
            slow.submit(entry("svc", "order-select", [_card("c-2")]))
            assert slow.flush(0.2) is False  # the writer holds its batch on the lock
            locker.rollback()
        assert slow.flush(30) and _count(url, "cds_card") == 2
