"""The committee report counts a clinician's decision once: the Sandbox re-calls order-select on
every edit of the order, and each call shows the card again (audit.decisions)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from cds_service.audit import decisions, ledger, report
from cds_service.storage import database_for
from tests.support.databases import postgres_url
from tests.support.servers import LiveServer

ROOT = Path(__file__).resolve().parent.parent
CASE = json.loads((ROOT / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json").read_text())
SELECT = "flank-mass-imaging-order-select"
SIGN = "flank-mass-imaging-order-sign"
T0 = 1_800_000_000


def _call(http, url: str, patient: str, service: str = SELECT) -> dict:
    body = json.loads(json.dumps(CASE).replace(CASE["context"]["patientId"], patient))
    if service == SIGN:
        body["hook"] = "order-sign"
        body["context"].pop("selections")
    [card] = http.post(f"{url}/cds-services/{service}", json=body, timeout=10).json()["cards"]
    return card


def test_repeated_calls_about_one_draft_are_one_decision(make_app, http, tmp_path):
    app = make_app({"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3"})
    with LiveServer(app) as server:
        edits = [_call(http, server.url, "patient-a") for _ in range(3)]  # three edits of the order form
        signed = _call(http, server.url, "patient-a", SIGN)  # the same draft at signing
        other = _call(http, server.url, "patient-b")
        item = {
            "card": signed["uuid"],
            "outcome": "accepted",
            "outcomeTimestamp": "2026-01-15T10:00:00Z",
            "acceptedSuggestions": [{"id": signed["suggestions"][0]["uuid"]}],
        }
        assert http.post(f"{server.url}/cds-services/{SIGN}/feedback", json={"feedback": [item]}, timeout=10).ok
        runtime = app.extensions["cds"]
        runtime.ledger.flush()
        data = report.build(runtime.database, 1)
    assert len({c["uuid"] for c in [*edits, signed, other]}) == 5
    totals = data["totals"]
    assert (totals["decisions"], totals["cards"], totals["accepted"], totals["noFeedback"]) == (2, 5, 1, 1)
    rows = {s["service"]: s["kinds"][0] for s in data["services"]}
    assert (rows[SELECT]["decisions"], rows[SELECT]["cards"]) == (2, 4)  # a decision belongs where it was first shown
    assert (rows[SIGN]["decisions"], rows[SIGN]["cards"]) == (0, 1)
    dump = "\n".join(sqlite3.connect(tmp_path / "d.sqlite3").iterdump())
    assert "patient-a" not in dump and "patient-b" not in dump


def _card(uuid: str, key: str) -> ledger.IssuedCard:
    return ledger.IssuedCard(uuid, "mri-before-ct", "warning", decision_key=key)


def test_a_pause_longer_than_the_window_starts_a_new_decision(tmp_path):
    db = database_for(f"sqlite:///{tmp_path}/w.sqlite3")
    key = decisions.key(b"k" * 32, "patient-a", "ServiceRequest/sr-1", "mri-before-ct")
    for uuid, minutes in (("c1", 0), ("c2", 20), ("c3", 45), ("c4", 90)):  # gaps 20, 25 and 45 minutes
        ledger.record_batch(
            db, [(SELECT, "order-select", [_card(uuid, key)], [], "r")], decision_window_s=1800, now=T0 + minutes * 60
        )
    ids = dict(db.query("SELECT uuid, decision_id FROM cds_card"))
    assert ids["c1"] == ids["c2"] == ids["c3"] != ids["c4"]
    assert report.build(db, 1, now=T0 + 5400)["totals"]["decisions"] == 2
    other = decisions.key(b"k" * 32, "patient-b", None, "order-ct")
    ledger.record_batch(
        db, [(SELECT, "patient-view", [_card("c5", other)], [], "r")], decision_window_s=1800, now=T0 + 3 * 3600
    )
    # the first patient's hash is gone once its decision closed; only the open one is kept
    assert db.query("SELECT decision_key FROM cds_decision_open") == [(other,)]


def test_workers_recording_one_decision_at_once_agree_on_it():
    with postgres_url() as url:
        db = database_for(url)
        key = decisions.key(b"k" * 32, "patient-a", "ServiceRequest/sr-1", "mri-before-ct")
        start = threading.Barrier(8)

        def record(i: int) -> None:
            start.wait()
            ledger.record_batch(db, [(SELECT, "order-select", [_card(f"c{i}", key)], [], "r")], now=T0)

        threads = [threading.Thread(target=record, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert db.query("SELECT COUNT(DISTINCT decision_id), COUNT(*) FROM cds_card")[0] == (1, 8)
        db.close()
