"""A served worker builds the narrative pipeline, the quick R4 check's plans and the metrics before
its first call (cds_service.warmup), and records nothing while doing so."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import requests

from tests.support.builders import SERVICE_IDS
from tests.support.cases import case_request
from tests.support.gunicorn import ROOT, served

# Run in a new interpreter: in this one another test may already have built what warm() builds.
FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    from fhir.resources.R4B import get_fhir_model_class
    from cds_service import create_app
    from cds_service.config import Settings
    from cds_service.fhir import quick_check
    from cds_service.warmup import resource_types, warm

    app = create_app(Settings.from_env({"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": sys.argv[1]}))
    runtime = app.extensions["cds"]
    types = resource_types(runtime.content.services)
    pipeline = runtime.knowledge.reader.assertor
    before = {"nlp": pipeline._nlp is not None, "plans": len(quick_check._plans)}
    done = warm(runtime)
    print(json.dumps({
        "types": types,
        "before": before,
        "after": {
            "nlp": pipeline._nlp is not None,
            "planned": [get_fhir_model_class(t) in quick_check._plans for t in types],
        },
        "done": done,
        "cards": runtime.database.query("SELECT COUNT(*) FROM cds_card")[0][0],
    }))
    """
)


def test_warm_builds_what_a_first_call_would_and_records_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, f"sqlite:///{tmp_path}/cds.sqlite3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"Patient", "Condition", "DiagnosticReport", "ImagingStudy", "Observation", "ServiceRequest"} <= set(
        report["types"]
    )
    assert report["before"] == {"nlp": False, "plans": 0}
    assert report["after"]["nlp"] and all(report["after"]["planned"])
    assert report["done"]["modelPlans"] >= len(report["types"])
    assert report["cards"] == 0


def _warmed(log_path) -> list[dict]:
    lines = (line for line in log_path.read_text().splitlines() if line.startswith("{"))
    return [entry for entry in map(json.loads, lines) if entry.get("msg") == "worker warmed up"]


def test_each_served_worker_warms_up_and_listening_is_said_after_the_last(tmp_path):
    """Each worker builds what a first call would before taking one; and "listening" follows the
    last warm-up (it came as soon as the socket was open, while the workers still had their
    warm-up ahead, so the first call waited)."""
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3", "CDS_LOG_LEVEL": "INFO"}
    with served(env, tmp_path, workers=2) as (url, log_path):
        answer = requests.post(
            f"{url}/cds-services/{SERVICE_IDS['order-select']}",
            json=case_request("adult-left-coded-conclusion-mri.json"),
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["cards"]
        # /healthz answered once one worker was up; the other may still be warming up: wait for its line
        deadline = time.monotonic() + 60
        while "listening on" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = log_path.read_text().splitlines()
    warmed = _warmed(log_path)
    assert len(warmed) == 2 and all(entry["modelPlans"] > 0 for entry in warmed)
    said = [i for i, line in enumerate(lines) if "cds-service: listening on http://127.0.0.1:" in line]
    warm_lines = [i for i, line in enumerate(lines) if '"worker warmed up"' in line]
    starting = [
        i for i, line in enumerate(lines) if "cds-service: warming up 2 worker(s) for http://127.0.0.1:" in line
    ]
    assert len(said) == 1 and len(warm_lines) == 2 and len(starting) == 1
    assert starting[0] < warm_lines[0] < warm_lines[1] < said[0]
