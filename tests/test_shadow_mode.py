"""Shadow mode end to end: a shadow service answers {"cards": []} and records what it would have
shown (cards and ratings, marked shadow); the report shows it beside the live numbers; switching
between shadow and live takes effect by editing the site file, without a restart."""

from __future__ import annotations

import json
import os

from cds_service.audit import report, report_render
from tests.support.safety import SELECT, SIGN, SIGN_CASE, positive


def _write(path, doc) -> None:
    """Replace the file the way an editor or a config-management tool does (write, then rename)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    os.replace(tmp, path)


def test_shadow_then_live_then_shadow_without_restart(live_app, http, tmp_path, log_lines):
    site = tmp_path / "site.json"
    _write(site, {"services": {SELECT: {"mode": "shadow"}}})
    url, runtime = live_app({"CDS_SITE_CONFIG": str(site), "CDS_SITE_RELOAD_S": "0"})

    shadow = http.post(f"{url}/cds-services/{SELECT}", json=positive())
    assert shadow.status_code == 200 and shadow.json() == {"cards": []}
    other_service = http.post(f"{url}/cds-services/{SIGN}", json=positive(SIGN_CASE)).json()
    assert len(other_service["cards"]) == 2, "shadow mode is per service"

    _write(site, {"services": {SELECT: {"mode": "live"}}})
    live = http.post(f"{url}/cds-services/{SELECT}", json=positive()).json()
    assert [c["indicator"] for c in live["cards"]] == ["warning"] and live["systemActions"]

    _write(site, {"services": {SELECT: {"mode": "dark"}}})  # a bad edit is refused; live stays in force
    assert http.post(f"{url}/cds-services/{SELECT}", json=positive()).json()["cards"]
    assert f"{site}: services/{SELECT}/mode" in log_lines.text

    _write(site, {"services": {SELECT: {"mode": "shadow"}}})
    assert http.post(f"{url}/cds-services/{SELECT}", json=positive()).json() == {"cards": []}

    runtime.ledger.flush()
    db = runtime.database
    rows = db.query("SELECT disposition, kind FROM cds_card WHERE service_id = ? ORDER BY disposition", (SELECT,))
    assert rows == [
        ("shadow", "mri-before-ct"),
        ("shadow", "mri-before-ct"),
        ("shown", "mri-before-ct"),
        ("shown", "mri-before-ct"),
    ]
    assert sorted(db.query("SELECT shadow FROM cds_rating WHERE service_id = ?", (SELECT,))) == [(0,), (0,), (1,), (1,)]

    built = report.build(db, since_days=1)
    assert built["shadow"] == [
        {"service": SELECT, "cards": 2, "kinds": {"mri-before-ct": 2}, "ratings": {"not-appropriate": 2}}
    ]
    live_select = next(s for s in built["services"] if s["service"] == SELECT)
    assert live_select["kinds"][0]["cards"] == 2  # the live numbers count shown cards only
    text = report_render.text(built)
    assert f"{SELECT}: would have fired 2 times; kinds: mri-before-ct x2; ratings: not-appropriate x2" in text
    assert "Shadow mode: would have fired" in report_render.page(built)


def test_reload_is_rate_limited(live_app, http, tmp_path):
    site = tmp_path / "site.json"
    _write(site, {"services": {SELECT: {"mode": "shadow"}}})
    url, runtime = live_app({"CDS_SITE_CONFIG": str(site), "CDS_SITE_RELOAD_S": "3600"})
    _write(site, {"services": {SELECT: {"mode": "live"}}})
    assert http.post(f"{url}/cds-services/{SELECT}", json=positive()).json() == {"cards": []}, (
        "within the reload interval the file is not even looked at"
    )
