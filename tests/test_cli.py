"""The console script: `evaluate` offline, and `serve` under real gunicorn workers."""

import json
from pathlib import Path

import requests

from tests.support.builders import SERVICE_IDS, empty_prefetch, request
from tests.support.cli import run_cli
from tests.support.gunicorn import served

ROOT = Path(__file__).resolve().parent.parent


def test_evaluate_prints_the_response(tmp_path):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request("patient-view", prefetch=empty_prefetch())))
    result = run_cli("evaluate", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"cards": []}


def test_evaluate_reports_errors_as_json_and_nonzero(tmp_path):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request("patient-view")))  # no prefetch, no fhirServer -> 412
    result = run_cli("evaluate", str(path), "--service", SERVICE_IDS["patient-view"])
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "precondition_failed"
    assert run_cli("evaluate", str(tmp_path / "missing.json")).returncode == 2


def test_evaluate_never_writes_to_the_report_database(tmp_path):
    """Issue 10 item 5: a positive case (a card and a rating) evaluated offline leaves the configured
    database untouched: not created, so no cards or ratings can enter the committee report."""
    from cds_service.audit import report
    from cds_service.storage import database_for

    db_url = f"sqlite:///{tmp_path}/report.sqlite3"
    case = ROOT / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json"
    result = run_cli("evaluate", str(case), env={"CDS_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["cards"] and answer["systemActions"]  # something that would be recorded by the server
    assert not (tmp_path / "report.sqlite3").exists()
    data = report.build(database_for(db_url), 30)
    assert data["totals"]["cards"] == 0 and data["ratings"] == []


def test_serve_runs_gunicorn_workers(tmp_path):
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    with served(env, tmp_path) as (url, log_path):
        assert len(requests.get(f"{url}/cds-services", timeout=5).json()["services"]) == 3
        answer = requests.post(
            f"{url}/cds-services/{SERVICE_IDS['order-sign']}",
            json=request("order-sign", prefetch=empty_prefetch()),
            timeout=5,
        )
        assert answer.status_code == 200 and answer.json() == {"cards": []}
    log = log_path.read_text()
    assert "Traceback" not in log and '"msg":"request"' in log.replace(" ", "")


def test_serve_refuses_bad_configuration():
    result = run_cli("serve", "--port", "1", env={"CDS_FHIR_TIMEOUT_S": "soon"})
    assert result.returncode == 2
    assert "CDS_FHIR_TIMEOUT_S" in result.stderr
