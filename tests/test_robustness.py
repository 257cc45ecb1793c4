"""No input makes the service fail: mutated fixture requests get a 200 or a 4xx, never a 5xx."""

import copy
import json
import random
from pathlib import Path

import pytest

from tests.support.builders import SERVICE_IDS, bundle, empty_prefetch, request
from tests.support.mutation import mutate

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
JUNK = [
    None,
    "",
    "x",
    0,
    -1,
    3.5,
    True,
    [],
    {},
    [None],
    [{}],
    {"coding": "x"},
    {"coding": [None, 5, {"code": 5}]},
    {"reference": 5},
    "Patient/p1",
    [1, "a"],
    {"text": 5},
    {"resourceType": 5},
]


def test_mutated_requests_never_get_a_server_error(live, http):
    index = json.loads((CASES / "index.json").read_text())["cases"]
    cases = [(c["service"], json.loads((CASES / c["file"]).read_text())) for c in index]
    rng = random.Random(20261121)
    url = live()
    statuses = {}
    for _ in range(400):
        service, original = rng.choice(cases)
        body = copy.deepcopy(original)
        resources = [
            e["resource"]
            for v in (body.get("prefetch") or {}).values()
            if isinstance(v, dict)
            for e in v.get("entry", ())
            if isinstance(e.get("resource"), dict)
        ]
        for _ in range(rng.randint(1, 4)):
            if resources and rng.random() < 0.7:  # mostly inside the patient's resources: the engine's input
                mutate(rng, rng.choice(resources), JUNK)
            else:
                mutate(rng, body.get(rng.choice(["prefetch", "context"])) or body, JUNK)
        response = http.post(f"{url}/cds-services/{service}", json=body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text[:300])
        if response.status_code == 200:
            assert "cards" in response.json()
    assert statuses.get(200, 0) > 150 and statuses.get(400, 0) > 20  # the mutations exercise both paths


@pytest.mark.parametrize(
    "broken",
    [
        {"resourceType": "Bundle", "entry": {"resource": {}}},
        {"resourceType": "Bundle", "entry": ["not an entry"]},
        {"resourceType": "Bundle", "entry": [{"resource": "Condition/1"}]},
        {"resourceType": "Bundle", "link": "next"},
    ],
)
def test_a_prefetch_bundle_that_is_not_shaped_like_one_is_400(live, http, broken):
    prefetch = empty_prefetch()
    prefetch["conditions"] = broken
    response = http.post(
        f"{live()}/cds-services/{SERVICE_IDS['patient-view']}", json=request("patient-view", prefetch=prefetch)
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("prefetch.conditions: not a valid FHIR Bundle")


def test_a_malformed_page_from_the_fhir_server_is_412(live, http, fhir):
    prefetch = empty_prefetch()
    prefetch["conditions"] = bundle(link=[{"relation": "next", "url": f"{fhir.url}/Condition?patient=p1&page=2"}])
    fhir.routes["Condition?patient=p1&page=2"] = {"resourceType": "Bundle", "entry": "oops"}
    body = request(
        "patient-view",
        prefetch=prefetch,
        fhirServer=fhir.url,
        fhirAuthorization={"access_token": fhir.token, "token_type": "Bearer"},
    )
    response = http.post(f"{live()}/cds-services/{SERVICE_IDS['patient-view']}", json=body)
    assert response.status_code == 412 and response.json()["missingPrefetch"] == ["conditions"]


def test_a_malformed_resource_is_dropped_and_the_valid_evidence_still_counts(live, http, log_lines):
    index = json.loads((CASES / "index.json").read_text())["cases"]
    entry = next(c for c in index if c["name"] == "adult-left-coded-conclusion-mri")
    body = json.loads((CASES / entry["file"]).read_text())
    junk_study = {
        "resourceType": "ImagingStudy",
        "id": "junk",
        "status": "available",
        "subject": {"reference": f"Patient/{body['context']['patientId']}"},
        "series": [["not", "an", "object"]],
    }
    studies = body["prefetch"].setdefault("imagingStudies", {"resourceType": "Bundle", "type": "searchset"})
    studies.setdefault("entry", []).append({"resource": junk_study})
    response = http.post(f"{live()}/cds-services/{entry['service']}", json=body)
    assert response.status_code == 200
    assert [c["summary"] for c in response.json()["cards"]] == [c["summary"] for c in entry["cards"]]
    assert log_lines.requests()[-1]["malformedDropped"] == 1
