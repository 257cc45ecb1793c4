"""The README's first-hour examples and the demo URL of docs/deployment.md are run, not just read:
if the service changes, these fail until the documents say what really happens."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
_START = README.index("## Your first hour")
FIRST_HOUR = README[_START : README.index("\n## ", _START + 1)]
API = (ROOT / "docs" / "api.md").read_text()
DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()


def _blocks(text: str) -> list[str]:
    return re.findall(r"```\n(.*?)```", text, flags=re.S)


def test_the_documented_healthz_body_is_the_real_one(live, http):
    block = next(b for b in _blocks(FIRST_HOUR) if "/healthz" in b)
    documented = json.loads(block.splitlines()[1])
    assert http.get(f"{live()}/healthz").json() == documented
    assert f"`{json.dumps(documented, separators=(',', ':'))}`" in API  # the Endpoints table says the same


def test_the_documented_hook_call_and_feedback_work_as_described(live, http):
    url = live()
    call = next(b for b in _blocks(FIRST_HOUR) if "--data @" in b)
    request_file = re.search(r"--data @(\S+)", call).group(1)
    path = urlsplit(re.search(r"(http://\S+/cds-services/\S+)", call).group(1)).path
    answer = http.post(
        url + path, data=(ROOT / request_file).read_bytes(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    card = answer.json()["cards"][0]
    summary = re.search(r'one `(\w+)` card, "(.+?)",', " ".join(FIRST_HOUR.split()))
    assert (card["indicator"], card["summary"]) == summary.groups()
    assert answer.json()["systemActions"]

    feedback = next(b for b in _blocks(FIRST_HOUR) if "/feedback" in b)
    body = re.search(r"-d '(.*?)'", feedback, flags=re.S).group(1)
    body = body.replace("CARD-UUID", card["uuid"]).replace("SUGGESTION-UUID", card["suggestions"][0]["uuid"])
    feedback_path = urlsplit(re.search(r"(http://\S+/feedback)", feedback).group(1)).path
    stored = http.post(url + feedback_path, data=body, headers={"Content-Type": "application/json"})
    assert json.dumps(stored.json(), separators=(",", ":")) == feedback.strip().splitlines()[-1]


def test_the_sandbox_url_opens_the_compose_demo_on_a_positive_demo_patient():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    sandbox = re.search(r"^(https://sandbox\.cds-hooks\.org/\?\S+)$", DEPLOYMENT, flags=re.M).group(1)
    query = {k: v[0] for k, v in parse_qs(urlsplit(sandbox).query).items()}
    assert set(query) == {"serviceDiscoveryURL", "fhirServiceUrl", "patientId"}
    cds_env = compose["services"]["cds"]["environment"]
    assert query["serviceDiscoveryURL"] == cds_env["CDS_PUBLIC_BASE_URL"] + "/cds-services"
    fhir = urlsplit(query["fhirServiceUrl"])
    assert fhir.hostname == "localhost" and f"{fhir.port}:{fhir.port}" in compose["services"]["fhir"]["ports"]
    demo = json.loads((ROOT / "fixtures" / "demo" / "patients.bundle.json").read_text())
    assert f"Patient/{query['patientId']}" in {e["request"]["url"] for e in demo["entry"]}
    assert query["patientId"] == "demo-adult"  # a positive one (tests/test_seed_fhir.py shows it gets cards)


def test_the_documented_try_command_runs_the_loop(live, tmp_path):
    from tests.support.cli import run_cli

    command = re.search(r"`\.venv/bin/cds-service (try [^`]*)`", " ".join(FIRST_HOUR.split())).group(1).split()
    database = {"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/first-hour.sqlite3"}
    url = live(database)
    args = [url if a.startswith("http://127.0.0.1:8081") else a for a in command]
    result = run_cli(*args, env=database)
    assert result.returncode == 0, result.stderr
    assert "feedback (accepted)" in result.stdout and "accepted 1" in result.stdout
