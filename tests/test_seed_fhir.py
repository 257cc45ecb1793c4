"""`cds-service seed-fhir` and the demo patients it loads (the compose demo's data).

The command runs for real in a subprocess against a loopback FHIR store stand-in; the demo
patients are then sent to the service as prefetch, and fetched by it from the store, as the
CDS Hooks Sandbox and the compose demo would.
"""

import json
from pathlib import Path

import pytest
import requests

from cds_service.fhir import seed
from tests.support.builders import SERVICE_IDS, request
from tests.support.cli import run_cli
from tests.support.servers import FhirStore

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "patients.bundle.json"
POSITIVE = ("demo-adult", "demo-child")
NEGATIVE = "demo-negative"


@pytest.fixture
def store():
    with FhirStore() as server:
        yield server


@pytest.fixture
def seeded(store):
    result = run_cli("seed-fhir", store.url)
    assert result.returncode == 0, result.stderr
    return store


def test_the_demo_bundle_is_a_valid_r4_transaction_of_three_patients():
    from fhir.resources.R4B import get_fhir_model_class

    raw = json.loads(DEMO.read_text())
    bundle = get_fhir_model_class("Bundle").model_validate(raw)  # full R4 validation of every resource
    assert bundle.type == "transaction"
    for entry in raw["entry"]:
        resource, req = entry["resource"], entry["request"]
        assert req == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}  # idempotent
        assert entry["fullUrl"].startswith("urn:uuid:")
    patients = sorted(e["resource"]["id"] for e in raw["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patients == sorted((*POSITIVE, NEGATIVE))
    ids = {e["request"]["url"] for e in raw["entry"]}
    references = [v for v in _values(raw, "reference")]
    assert references and all(ref in ids for ref in references), "a reference points outside the Bundle"


def _values(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _values(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)


def test_seed_posts_the_transaction_and_is_idempotent(seeded):
    assert len(seeded.posts) == 1 and seeded.posts[0]["contentType"] == "application/fhir+json"
    assert {f"Patient/{p}" for p in (*POSITIVE, NEGATIVE)} <= set(seeded.resources)
    again = run_cli("seed-fhir", seeded.url + "/", "--bundle", str(DEMO))
    assert again.returncode == 0 and "200 OK x11" in again.stdout and "Patient x3" in again.stdout
    assert len(seeded.resources) == 11


def _prefetch_from(store: FhirStore, service_id: str, patient_id: str, app_services) -> dict:
    """Fill every prefetch key of the service from the store, the way a CDS client (the Sandbox) does."""
    prefetch = {}
    for key, template in app_services[service_id].discovery["prefetch"].items():
        resource_type = template.split("/")[0].split("?")[0]
        if "?" not in template:
            prefetch[key] = store.resources[f"{resource_type}/{patient_id}"]
        else:
            found = store.search(resource_type, patient_id)
            prefetch[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "entry": [{"resource": r} for r in found],
            }
    return prefetch


def test_positive_demo_patients_get_cards_from_prefetch_and_the_negative_none(seeded, make_app, http):
    from tests.support.servers import LiveServer

    app = make_app()
    services = app.extensions["cds"].content.services
    service_id = SERVICE_IDS["patient-view"]
    with LiveServer(app) as server:
        for pid in (*POSITIVE, NEGATIVE):
            body = request("patient-view", pid=pid, prefetch=_prefetch_from(seeded, service_id, pid, services))
            answer = http.post(f"{server.url}/cds-services/{service_id}", json=body, timeout=10)
            assert answer.status_code == 200, answer.text
            cards = answer.json().get("cards", [])
            if pid == NEGATIVE:
                assert cards == []
            else:
                assert cards and "CT abdomen" in cards[0]["summary"], (pid, cards)


def test_the_service_fetches_the_demo_patients_from_the_seeded_server(seeded, live, http):
    url = live()
    for pid in (*POSITIVE, NEGATIVE):
        body = request("patient-view", pid=pid, fhirServer=seeded.url)
        answer = http.post(f"{url}/cds-services/{SERVICE_IDS['patient-view']}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        assert bool(answer.json().get("cards")) is (pid != NEGATIVE)


def test_seed_waits_for_a_starting_server():
    with FhirStore(ready_after=2) as store:
        slept = []
        with requests.Session() as session:
            session.trust_env = False
            seed.wait_until_ready(
                session, store.url, wait_s=30, timeout_s=5, clock=lambda: sum(slept), sleep=slept.append
            )
        assert store.metadata_calls == 3 and len(slept) == 2


def test_seed_gives_up_waiting_with_the_last_answer():
    with FhirStore(ready_after=10**6) as store:
        slept = []
        with requests.Session() as session:
            session.trust_env = False
            with pytest.raises(seed.SeedError, match=r"not answering \(HTTP 503\) after waiting 10 s"):
                seed.wait_until_ready(
                    session, store.url, wait_s=10, timeout_s=5, clock=lambda: sum(slept), sleep=slept.append
                )
        assert sum(slept) == 10


def test_server_refusals_are_one_line_and_exit_1(store):
    store.answer = (
        400,
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": "HAPI-0450: bad\nthing"}],
        },
    )
    result = run_cli("seed-fhir", store.url)
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0
    assert "HTTP 400 (HAPI-0450: bad thing)" in result.stderr and "Traceback" not in result.stderr
    store.answer = (
        200,
        {
            "resourceType": "Bundle",
            "type": "batch-response",
            "entry": [{"response": {"status": "201 Created"}}, {"response": {"status": "422"}}],
        },
    )
    result = run_cli("seed-fhir", store.url)
    assert result.returncode == 1 and "1 of 2 entries failed" in result.stderr


def test_a_server_that_does_not_answer_in_time_is_exit_1(store):
    store.answer = 5.0  # seconds before answering; the command allows 0.5
    result = run_cli("seed-fhir", store.url, "--timeout", "0.5")
    assert result.returncode == 1 and "did not answer within 0.5 s" in result.stderr


def test_an_unreachable_server_is_exit_1():
    from tests.support.gunicorn import free_port

    result = run_cli("seed-fhir", f"http://127.0.0.1:{free_port()}/fhir")
    assert result.returncode == 1 and "cannot reach the FHIR server" in result.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path, store):
    not_json = tmp_path / "x.json"
    not_json.write_text("{nope")
    searchset = tmp_path / "s.json"
    searchset.write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}))
    no_request = tmp_path / "r.json"
    no_request.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Patient"}}]}
        )
    )
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(seed.MAX_BUNDLE_BYTES + 1)  # sparse: the size is refused before anything is read
    cases = {
        not_json: "is not JSON",
        searchset: "type 'searchset'",
        no_request: "entry 0 has no request",
        huge: "the limit is",
        tmp_path / "missing.json": "cannot read",
    }
    for path, message in cases.items():
        result = run_cli("seed-fhir", store.url, "--bundle", str(path))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert result.stderr.strip().count("\n") == 0
    assert run_cli("seed-fhir", "localhost:8090/fhir").returncode == 2
    assert store.posts == []
