"""GET /metrics after real calls over HTTP: in one process, and under real gunicorn with 2 workers
(prometheus multiprocess mode: any worker's scrape adds up every worker's counts)."""

import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.builders import PREFETCH_KEYS, SERVICE_IDS, request
from tests.support.gunicorn import child_pids, served

ROOT = Path(__file__).resolve().parent.parent
CASE = json.loads((ROOT / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json").read_text())
SELECT = SERVICE_IDS["order-select"]


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels) -> float:
    """Sum of the samples called `name` whose labels include `labels` (0 when there are none)."""
    return sum(s.value for s in samples(text) if s.name == name and labels.items() <= s.labels.items())


def scrape(http, url: str) -> str:
    response = http.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return response.text


def test_metrics_count_requests_stages_cards_fetch_failures_and_refusals(live, http, fhir):
    url = live()
    before = scrape(http, url)
    secret_patient = "patient-secret-id-42"
    assert http.post(f"{url}/cds-services/{SELECT}", json=CASE).json()["cards"]  # 1 card, 200
    assert http.post(f"{url}/cds-services/{SELECT}", json={"hook": 5}).status_code == 400
    assert http.post(f"{url}/cds-services/no-such-{secret_patient}", json=CASE).status_code == 404
    fhir.routes[f"Condition?patient={secret_patient}"] = (503, {"resourceType": "OperationOutcome", "issue": []})
    fetching = request(
        "patient-view",
        pid=secret_patient,
        fhirServer=fhir.url,
        fhirAuthorization={"access_token": fhir.token, "token_type": "Bearer"},
    )
    assert http.post(f"{url}/cds-services/{SERVICE_IDS['patient-view']}", json=fetching).status_code == 412
    after = scrape(http, url)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("cds_http_requests_total", endpoint="service", service=SELECT, status="200") == 1
    assert delta("cds_http_requests_total", endpoint="service", service=SELECT, status="400") == 1
    assert delta("cds_http_requests_total", endpoint="service", service="unknown", status="404") == 1
    assert delta("cds_http_requests_total", endpoint="metrics", status="200") == 1  # the first scrape
    assert delta("cds_http_request_duration_seconds_count", endpoint="service", service=SELECT) == 2
    # the 200 ran every phase; the 400 stopped in intake, the 412 too (its fetch failed)
    assert delta("cds_pipeline_stage_duration_seconds_count", stage="intake") == 3
    assert delta("cds_pipeline_stage_duration_seconds_count", stage="engine") == 1
    assert delta("cds_pipeline_stage_duration_seconds_count", stage="finish") == 1
    assert delta("cds_cards_total", service=SELECT, kind="mri-before-ct", indicator="warning") == 1
    assert delta("cds_fhir_fetches_total") == len(PREFETCH_KEYS)  # every key of patient-view was fetched
    assert delta("cds_fhir_fetch_failures_total", reason="http_5xx") == 1
    assert "cds_ledger_queue_depth" in after
    assert secret_patient not in after and fhir.token not in after


def test_every_route_has_its_own_endpoint_label(make_app, live, http):
    """Only a path no route serves is "other": /readyz and /openapi.json were counted there."""
    from cds_service.metrics import _ENDPOINTS

    app = make_app()
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert routes <= set(_ENDPOINTS), routes - set(_ENDPOINTS)
    url = live()
    before = scrape(http, url)
    for path in ("/readyz", "/openapi.json", "/no-such-path"):
        http.get(f"{url}{path}", timeout=10)
    after = scrape(http, url)
    for endpoint, status in (("readiness", "200"), ("openapi", "200"), ("other", "404")):
        assert (
            value(after, "cds_http_requests_total", endpoint=endpoint, status=status)
            - value(before, "cds_http_requests_total", endpoint=endpoint, status=status)
            == 1
        ), endpoint


def test_jwt_refusals_are_counted_by_reason_without_token_data(live, http, tmp_path):
    url = live({"CDS_AUTH_MODE": "required"})
    before = scrape(http, url)
    http.get(f"{url}/cds-services")
    http.get(f"{url}/cds-services", headers={"Authorization": "Bearer not.a.jwt"})
    forged = (
        "eyJhbGciOiJFUzM4NCIsImtpZCI6ImtpZC1zZWNyZXQtOTkifQ."
        "eyJpc3MiOiJodHRwczovL2lzc3Vlci1zZWNyZXQuZXhhbXBsZSJ9.c2ln"
    )  # kid-secret-99, iss issuer-secret
    assert http.get(f"{url}/cds-services", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    after = scrape(http, url)
    for reason in ("missing", "malformed", "unknown_issuer"):
        assert (
            value(after, "cds_jwt_refusals_total", reason=reason)
            - value(before, "cds_jwt_refusals_total", reason=reason)
            == 1
        )
    assert "secret" not in after and "not.a.jwt" not in after


def test_metrics_can_be_switched_off(live, http):
    url = live({"CDS_METRICS_ENABLED": "false"})
    assert http.get(f"{url}/metrics").status_code == 404
    assert http.get(f"{url}/healthz").status_code == 200


def test_gunicorn_workers_share_their_metrics_and_the_directory_is_removed(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "TMPDIR": str(temp)}
    calls = 12
    with served(env, tmp_path, workers=2, with_process=True) as (url, log_path, proc):
        for _ in range(calls):  # a new connection each time, so both workers take some
            with requests.Session() as session:
                assert session.post(f"{url}/cds-services/{SELECT}", json=CASE, timeout=10).json()["cards"]
        (metrics_dir,) = list(temp.glob("cds-metrics-*"))
        for _ in range(6):  # whichever worker answers, it reports both workers' counts
            with requests.Session() as session:
                text = scrape(session, url)
            assert value(text, "cds_http_requests_total", endpoint="service", service=SELECT, status="200") == calls
            assert value(text, "cds_cards_total", service=SELECT, kind="mri-before-ct") == calls
            assert not any(s.name.endswith("_created") for s in samples(text))  # the multiprocess collector
        # A worker that dies is marked dead (child_exit): its live gauge file goes, the others stay.
        workers = child_pids(proc.pid)
        gauges = {int(p.stem.rsplit("_", 1)[1]): p for p in metrics_dir.glob("gauge_livesum_*.db")}
        assert gauges and set(gauges) <= workers
        victim = sorted(gauges)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while gauges[victim].exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not gauges[victim].exists()
        with requests.Session() as session:
            assert value(scrape(session, url), "cds_cards_total", service=SELECT) == calls  # counters survive
    assert list(temp.glob("cds-metrics-*")) == []
    assert "listening on http://127.0.0.1:" in log_path.read_text()


@pytest.mark.parametrize(
    "reason, slug",
    [
        ("no key with this kid for https://x (after one JWKS refresh at most)", "unknown_kid"),
        ("key URL https://x/jwks unreachable (ConnectionError)", "jwks_unreachable"),
        ("key set of https://x unavailable (timeout); kid not among the last good keys", "jwks_unreachable"),
        ("jti replayed for https://x", "replayed"),
        ("something new", "other"),
    ],
)
def test_refusal_reasons_become_fixed_slugs(reason, slug):
    from cds_service import metrics

    assert metrics._slug(reason, metrics._JWT_REASONS) == slug


@pytest.mark.parametrize(
    "reason, slug",
    [
        ("timeout", "timeout"),
        ("HTTP 401", "http_4xx"),
        ("HTTP 503", "http_5xx"),
        ("response is not JSON", "not_json"),
        ("FHIR response larger than 8388608 bytes", "too_large"),
        ("too many fetches in flight to this FHIR server", "server_busy"),
        ("next page is not a Bundle", "bad_bundle"),
        ("something new", "other"),
    ],
)
def test_fetch_failure_reasons_become_fixed_slugs(reason, slug):
    from cds_service import metrics

    assert metrics._slug(reason, metrics._FHIR_REASONS) == slug


def _until(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_ledger_queue_depth_follows_the_background_writer(tmp_path):
    """The writer is held up by a lock the test takes on the SQLite file: records queue, the gauge
    shows them; once the lock is released they are written and the gauge returns to 0."""
    import sqlite3

    from cds_service import metrics
    from cds_service.audit import ledger
    from cds_service.audit.writer import LedgerWriter
    from cds_service.storage import database_for

    db = database_for(f"sqlite:///{tmp_path}/queue.sqlite3")
    writer = LedgerWriter(db)

    def depth() -> float:
        return value(metrics.exposition()[0].decode(), "cds_ledger_queue_depth")

    def submit(n: int) -> None:
        writer.submit("svc", "order-select", [ledger.IssuedCard(f"card-{n}", "mri-before-ct", "warning")], [], f"r{n}")

    blocker = sqlite3.connect(tmp_path / "queue.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        submit(0)
        assert _until(lambda: writer._queue.qsize() == 0)  # the writer holds record 0, waiting for the lock
        for n in (1, 2, 3):
            submit(n)
        assert depth() == 3
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    writer.flush()
    assert _until(lambda: depth() == 0)
    assert db.query("SELECT COUNT(*) FROM cds_card")[0][0] == 4
    db.close()


def test_offline_commands_never_write_into_a_servers_metrics_directory(tmp_path):
    from tests.support.cli import run_cli

    shared = tmp_path / "metrics"
    shared.mkdir()
    request_file = ROOT / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json"
    result = run_cli("evaluate", str(request_file), env={"PROMETHEUS_MULTIPROC_DIR": str(shared)})
    assert result.returncode == 0 and json.loads(result.stdout)["cards"]
    assert list(shared.iterdir()) == []
