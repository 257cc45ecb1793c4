"""Issue 21 points 5 and 6 against the real `cds-service serve` (two workers) and PostgreSQL: while
the tables are locked every hook call is answered without waiting on storage (suppression cannot be
read, so the card is shown: fail safe), the issued-card records wait in the spool, survive both
workers being restarted, and are all recorded once the lock goes.

CDS_DB_TIMEOUT_S is set long (20 s, as an operator may) so the hook path's own bound is what keeps
the calls quick: before issue 21 each call waited the whole database timeout. Fault tests stay
bounded: every wait below is a poll with a deadline of seconds.
"""

from __future__ import annotations

import json
import time

import psycopg
import requests

from tests.support.databases import postgres_url
from tests.support.gunicorn import child_pids, served
from tests.support.safety import SELECT, positive

SECRET = "suppression-secret-for-tests-0123456789"
LOCKED = "cds_card, cds_rating, cds_card_subject, cds_suppression, cds_last_look, cds_feedback"


def _metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def _until(predicate, seconds: float, what: str):
    """Poll until `predicate` holds. A request that fails is "not yet": a replaced worker warms up
    (several seconds of CPU on a loaded machine) before it accepts, and until then a call may time out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_locked_tables_never_hold_a_hook_call_and_no_card_record_is_lost(tmp_path):
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"suppression": {"enabled": True}}))
    with postgres_url() as db_url:
        env = {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": db_url,
            "CDS_SITE_CONFIG": str(site),
            "CDS_SUPPRESSION_SECRET": SECRET,
            "CDS_LOG_LEVEL": "WARNING",
            "CDS_DB_TIMEOUT_S": "20",
        }
        with served(env, tmp_path, workers=2, with_process=True) as (base, _log, master), requests.Session() as http:
            http.trust_env = False
            hook = f"{base}/cds-services/{SELECT}"
            issued = [http.post(hook, json=positive(), timeout=10).json()["cards"][0]["uuid"]]
            with psycopg.connect(db_url) as locker:
                locker.execute(f"LOCK TABLE {LOCKED} IN ACCESS EXCLUSIVE MODE")
                for _ in range(10):
                    response = http.post(hook, json=positive(), timeout=10)  # would wait 20 s on the lock
                    assert response.status_code == 200
                    [card] = response.json()["cards"]  # suppression unreadable: shown
                    issued.append(card["uuid"])
                assert _metric(base, "cds_hook_storage_skipped_total") >= 1
                _until(lambda: _metric(base, "cds_ledger_spooled_entries") >= 1, 15, "records spooled")
                old = child_pids(master.pid)
                for pid in old:  # both workers restart while the records wait in their spools
                    import os
                    import signal

                    os.kill(pid, signal.SIGTERM)
                _until(lambda: len(child_pids(master.pid) - old) == 2, 30, "both workers replaced")
                _until(lambda: requests.get(base + "/healthz", timeout=5).ok, 30, "serving again")
                locker.rollback()  # the lock goes
            with psycopg.connect(db_url) as reader:

                def recorded() -> bool:
                    rows = reader.execute("SELECT uuid FROM cds_card WHERE uuid = ANY(%s)", (issued,)).fetchall()
                    return len(rows) == len(issued)

                _until(recorded, 30, "every issued card recorded")
            _until(lambda: _metric(base, "cds_ledger_spooled_entries") == 0, 15, "spool empty")
            assert _metric(base, "cds_ledger_dropped_cards_total") == 0
