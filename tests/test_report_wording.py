"""Report wording for what real clients send (issue 10 item 6), from a live app to the CLI report.

The Sandbox posts override reasons with `code` and `system` but no `display`, and leaves a card on
screen after its suggestion is accepted, so "accepted, then overridden" happens naturally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from cds_service.config import REPO_ROOT
from cds_service.storage import database_for
from tests.test_ratings import _case


def _report(db_url: str, fmt: str) -> str:
    env = {**os.environ, "CDS_DATABASE_URL": db_url}
    result = subprocess.run(
        [sys.executable, "-m", "cds_service", "report", "--since", "1", "--format", fmt],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sandbox_feedback_is_reported_with_our_displays_and_accepted_then_overridden(live, http, tmp_path):
    db_url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    url = live({"CDS_DATABASE_URL": db_url})
    service, body = _case("adult-order-sign-mri-and-biopsy")
    mri, biopsy = http.post(f"{url}/cds-services/{service}", json=body).json()["cards"]
    no_display = {k: v for k, v in mri["overrideReasons"][0].items() if k != "display"}
    sent = [
        # accepted, then dismissed with a reason (the card stayed on screen)
        {
            "card": mri["uuid"],
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": mri["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": "2026-11-21T10:00:00Z",
        },
        {
            "card": mri["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-21T10:00:30Z",
            "overrideReason": {"reason": no_display},
        },
        {
            "card": biopsy["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-21T10:01:00Z",
            "overrideReason": {"reason": {k: v for k, v in biopsy["overrideReasons"][1].items() if k != "display"}},
        },
    ]
    for item in sent:  # one post per click, as the Sandbox does
        assert http.post(f"{url}/cds-services/{service}/feedback", json={"feedback": [item]}).status_code == 200
    db = database_for(db_url)
    deadline = time.monotonic() + 5  # cards are recorded after the response is sent
    while db.query("SELECT COUNT(*) FROM cds_card")[0][0] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)

    data = json.loads(_report(db_url, "json"))
    kinds = {k["kind"]: k for k in data["services"][0]["kinds"]}
    mri_row, biopsy_row = kinds["mri-before-ct"], kinds["biopsy-before-imaging"]
    assert (mri_row["accepted"], mri_row["overridden"], mri_row["acceptedThenOverridden"]) == (0, 0, 1)
    assert mri_row["acceptanceRate"] == 1.0  # the suggestion was applied
    assert (biopsy_row["overridden"], biopsy_row["acceptedThenOverridden"]) == (1, 0)
    assert data["totals"]["acceptedThenOverridden"] == 1
    assert mri_row["overrideReasons"] == [{**mri["overrideReasons"][0], "count": 1}]  # our display, not the code
    assert biopsy_row["overrideReasons"][0]["display"] == biopsy["overrideReasons"][1]["display"]

    text = _report(db_url, "text")
    assert "accepted, then overridden 1" in text
    assert f"override: {mri['overrideReasons'][0]['display']} ({no_display['code']}) x1" in text
    page = _report(db_url, "html")
    assert "Accepted, then overridden" in page and mri["overrideReasons"][0]["display"] in page
