"""Prefetch resolution (Appendix A A-S2..A-S7) with a real FHIR stand-in on loopback."""

import json

import pytest

from cds_service.config import REPO_ROOT
from cds_service.pipeline.prefetch import MISSING, classify
from tests.support.builders import SERVICE_IDS, bundle, empty_prefetch, fhir_authorization, patient, request

VIEW = SERVICE_IDS["patient-view"]
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


@pytest.mark.parametrize(
    "value, expected",
    [
        (MISSING, "fetch"),
        (None, "none"),
        ({"resourceType": "Bundle", "type": "searchset"}, "none"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": []}, "none"),
        (OUTCOME, "fetch"),
        (bundle(OUTCOME), "fetch"),
        (
            bundle(
                {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]},
                {"resourceType": "Condition", "id": "c"},
            ),
            "use",
        ),
        (bundle({"resourceType": "Condition", "id": "c"}), "use"),
        (bundle({"resourceType": "Condition", "id": "c"}, link=[{"relation": "next", "url": "x"}]), "paged"),
        (patient(), "use"),
    ],
)
def test_classify(value, expected):
    assert classify(value) == expected


# the optional contrast-safety searches, as the stand-in sees them ('|' percent-encoded by the client)
OPTIONAL_LAB_SEARCHES = [
    "Observation?patient=p1&code=" + t.split("&code=", 1)[1].replace("|", "%7C")
    for k, t in json.loads((REPO_ROOT / "hooks/services/patient-view.json").read_text())["discovery"][
        "prefetch"
    ].items()
    if k in ("renalLabs", "pregnancy")
]


def _view(fhir, prefetch=None, token=True, **extra):
    body = request("patient-view", prefetch=prefetch, fhirServer=fhir.url, **extra)
    if token:
        body["fhirAuthorization"] = fhir_authorization(fhir.token)
    return body


def _post(http, url, body):
    return http.post(f"{url}/cds-services/{VIEW}", data=json.dumps(body), headers={"Content-Type": "application/json"})


def test_missing_keys_are_fetched_concurrently_with_the_bearer_token(live, http, fhir):
    fhir.delay_s = 0.3
    fhir.routes["Patient/p1"] = patient()
    response = _post(http, live(), _view(fhir))
    assert response.status_code == 200, response.text
    assert sorted(fhir.paths()) == sorted(
        [
            "Patient/p1",
            "Condition?patient=p1",
            "ImagingStudy?patient=p1",
            "DiagnosticReport?patient=p1",
            "DocumentReference?patient=p1",
            "Observation?patient=p1&category=imaging",
            "ServiceRequest?patient=p1&status=active",
            "AllergyIntolerance?patient=p1",
            "MedicationRequest?patient=p1&status=active",
            *OPTIONAL_LAB_SEARCHES,
        ]
    )
    assert {c["authorization"] for c in fhir.calls} == {f"Bearer {fhir.token}"}
    starts = sorted(c["at"] for c in fhir.calls)
    assert starts[-1] - starts[0] < fhir.delay_s, "every fetch must start before the first one returns"


def test_only_missing_keys_are_fetched(live, http, fhir):
    prefetch = empty_prefetch()
    del prefetch["conditions"]
    prefetch["imagingStudies"] = OUTCOME
    response = _post(http, live(), _view(fhir, prefetch))
    assert response.status_code == 200, response.text
    assert sorted(fhir.paths()) == ["Condition?patient=p1", "ImagingStudy?patient=p1"]


def test_null_and_empty_bundles_mean_no_data_and_no_call(live, http, fhir):
    prefetch = empty_prefetch()
    prefetch["conditions"] = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    response = _post(http, live(), _view(fhir, prefetch))
    assert response.status_code == 200 and fhir.calls == []


def test_next_links_are_followed_on_the_named_server_only(live, http, fhir):
    prefetch = empty_prefetch()
    page2 = f"{fhir.url}/Condition?patient=p1&page=2"
    prefetch["conditions"] = bundle(
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}},
        link=[{"relation": "next", "url": page2}],
    )
    fhir.routes["Condition?patient=p1&page=2"] = bundle(
        {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"}},
        link=[{"relation": "next", "url": f"{fhir.url}/Condition?patient=p1&page=3"}],
    )
    fhir.routes["Condition?patient=p1&page=3"] = bundle(
        {"resourceType": "Condition", "id": "c3", "subject": {"reference": "Patient/p1"}}
    )
    response = _post(http, live(), _view(fhir, prefetch))
    assert response.status_code == 200, response.text
    assert fhir.paths() == ["Condition?patient=p1&page=2", "Condition?patient=p1&page=3"]


def test_page_cap_stops_following(live, http, fhir):
    prefetch = empty_prefetch()
    for page in range(1, 10):
        fhir.routes[f"Condition?patient=p1&page={page}"] = bundle(
            link=[{"relation": "next", "url": f"{fhir.url}/Condition?patient=p1&page={page + 1}"}]
        )
    prefetch["conditions"] = bundle(link=[{"relation": "next", "url": f"{fhir.url}/Condition?patient=p1&page=1"}])
    response = _post(http, live({"CDS_FHIR_MAX_PAGES": "3"}), _view(fhir, prefetch))
    assert response.status_code == 200
    assert len(fhir.calls) == 2  # the prefetched page counts as the first of three


def test_next_link_to_another_server_is_refused(live, http, fhir):
    prefetch = empty_prefetch()
    prefetch["conditions"] = bundle(link=[{"relation": "next", "url": "http://127.0.0.1:9/elsewhere/Condition?p=2"}])
    response = _post(http, live(), _view(fhir, prefetch))
    assert response.status_code == 412
    assert response.json()["missingPrefetch"] == ["conditions"]


def test_missing_data_without_fhir_server_is_412_naming_the_keys(live, http):
    prefetch = empty_prefetch()
    del prefetch["imagingStudies"], prefetch["conditions"], prefetch["allergies"]
    response = _post(http, live(), request("patient-view", prefetch=prefetch))
    assert response.status_code == 412
    body = response.json()
    assert body["missingPrefetch"] == ["conditions", "imagingStudies"]  # allergies are optional: not blocking
    expressions = [e for issue in body["outcome"]["issue"] for e in issue.get("expression", [])]
    assert expressions == ["prefetch.conditions", "prefetch.imagingStudies"]


@pytest.mark.parametrize(
    "route",
    [
        (401, OUTCOME),
        (403, OUTCOME),
        (500, OUTCOME),
        (503, b"upstream down"),
        (200, b"<html>not json</html>"),
        (200, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}),
        (200, [1, 2]),
    ],
)
def test_fhir_failures_are_412(live, http, fhir, route):
    prefetch = empty_prefetch()
    del prefetch["conditions"]
    fhir.routes["Condition?patient=p1"] = route
    response = _post(http, live(), _view(fhir, prefetch))
    assert response.status_code == 412, response.text
    assert response.json()["missingPrefetch"] == ["conditions"]


def test_wrong_token_gets_401_from_fhir_and_412_from_us(live, http, fhir):
    prefetch = empty_prefetch()
    del prefetch["conditions"]
    body = _view(fhir, prefetch)
    body["fhirAuthorization"]["access_token"] = "not-the-token"
    assert _post(http, live(), body).status_code == 412


def test_timeout_is_412_within_the_deadline(live, http, fhir):
    fhir.delay_s = 2.0
    prefetch = empty_prefetch()
    del prefetch["conditions"]
    response = _post(http, live({"CDS_FHIR_TIMEOUT_S": "0.2", "CDS_FHIR_DEADLINE_S": "0.5"}), _view(fhir, prefetch))
    assert response.status_code == 412
    assert response.elapsed.total_seconds() < 1.5


def test_unreachable_fhir_server_is_412(live, http):
    prefetch = empty_prefetch()
    del prefetch["patient"]
    body = request("patient-view", prefetch=prefetch, fhirServer="http://127.0.0.1:9/fhir")
    assert _post(http, live(), body).status_code == 412


def test_read_that_is_404_means_no_such_patient_not_a_failure(live, http, fhir):
    prefetch = empty_prefetch()
    del prefetch["patient"]
    response = _post(http, live(), _view(fhir, prefetch))
    assert response.status_code == 200
    assert fhir.paths() == ["Patient/p1"]


def test_resources_of_another_patient_are_ignored(live, http, fhir, log_lines):
    prefetch = empty_prefetch()
    prefetch["conditions"] = bundle(
        {"resourceType": "Condition", "id": "x", "subject": {"reference": "Patient/other"}},
        {"resourceType": "Condition", "id": "y", "subject": {"reference": "Patient/p1"}},
    )
    assert _post(http, live(), _view(fhir, prefetch)).status_code == 200
    line = log_lines.requests()[-1]
    assert line["resources"] == 2 and line["otherPatientDropped"] == 1
