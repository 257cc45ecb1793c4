"""Essential and optional prefetch keys (issue 10 items 3 and 4; TEAM contract #1).

A key listed in a service's `optionalPrefetch` that can be obtained neither from prefetch nor
from fhirServer degrades the answer (the card says what could not be checked, the request log
names it) instead of a 412; essential keys keep the 412. An unregistered fhirServer is warned
about only when a fetch was actually needed.
"""

from __future__ import annotations

import json
import shutil

import pytest

from cds_service.config import REPO_ROOT
from cds_service.content import Content, ContentError
from tests.support.builders import SERVICE_IDS, empty_prefetch, fhir_authorization, request
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients
from tests.test_ratings import _case

OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
NOTE = "Could not be checked:** contrast allergies"


def _complete_case(name: str):
    """A fixture case with the contrast-safety keys (issue 12) answered "no data", as a full prefetch would."""
    service, body = _case(name)
    body["prefetch"].update(renalLabs=None, pregnancy=None, documentReferences=None, medications=None)
    return service, body


def test_services_mark_allergies_optional_and_everything_else_essential():
    content = Content.load(REPO_ROOT / "hooks")
    # renalLabs, pregnancy: contrast safety (issue 12); documentReferences: imaging notes (issue 19);
    # medications: metformin, a kidney-function risk factor (issue 23)
    for service in content.services.values():
        assert service.optional_prefetch == frozenset(
            {"allergies", "renalLabs", "pregnancy", "documentReferences", "medications"}
        )
        assert set(service.prefetch) - service.optional_prefetch >= {
            "patient",
            "conditions",
            "imagingStudies",
            "diagnosticReports",
            "serviceRequests",
        }


def test_an_optional_key_that_is_not_a_prefetch_key_stops_start_up(tmp_path):
    hooks = tmp_path / "hooks"
    shutil.copytree(REPO_ROOT / "hooks", hooks)
    path = hooks / "services" / "patient-view.json"
    doc = json.loads(path.read_text())
    doc["optionalPrefetch"] = ["allergies", "noSuchKey"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ContentError, match=r"optionalPrefetch names keys not in discovery.prefetch: \['noSuchKey'\]"):
        Content.load(hooks)


def test_missing_allergies_without_a_fhir_server_degrade_the_card_instead_of_412(live, http, log_lines):
    service, body = _complete_case("adult-left-coded-conclusion-mri")
    del body["prefetch"]["allergies"]
    response = http.post(f"{live()}/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert NOTE in card["detail"]
    assert log_lines.requests()[-1]["unavailable"] == ["allergies"]


def test_allergies_the_fhir_server_fails_to_return_degrade_too(live, http, fhir, log_lines):
    service, body = _complete_case("adult-left-coded-conclusion-mri")
    del body["prefetch"]["allergies"]
    body["fhirServer"] = fhir.url
    body["fhirAuthorization"] = fhir_authorization(fhir.token)
    fhir.routes[f"AllergyIntolerance?patient={body['context']['patientId']}"] = (500, OUTCOME)
    response = http.post(f"{live()}/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    assert NOTE in response.json()["cards"][0]["detail"]
    assert fhir.paths() == [f"AllergyIntolerance?patient={body['context']['patientId']}"]
    entry = log_lines.requests()[-1]
    assert entry["unavailable"] == ["allergies"] and "allergies" in entry["fetchFailures"]


def test_a_complete_prefetch_says_nothing_about_unchecked_data(live, http, log_lines):
    service, body = _complete_case("adult-left-coded-conclusion-mri")
    response = http.post(f"{live()}/cds-services/{service}", json=body)
    assert "Could not be checked" not in response.json()["cards"][0]["detail"]
    assert "unavailable" not in log_lines.requests()[-1]


def test_an_essential_key_still_gives_412_and_optional_keys_are_not_listed(live, http):
    prefetch = empty_prefetch()
    del prefetch["conditions"], prefetch["allergies"]
    response = http.post(
        f"{live()}/cds-services/{SERVICE_IDS['patient-view']}", json=request("patient-view", prefetch=prefetch)
    )
    assert response.status_code == 412
    assert response.json()["missingPrefetch"] == ["conditions"]


def test_unregistered_fhir_server_is_warned_about_only_when_a_fetch_was_needed(live, http, tmp_path, log_lines):
    iss, signer = "https://ehr.example.org/fhir", Signer("ES384")
    url = live(
        {
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, [{"iss": iss, "jwks": jwks(signer)}]),
        }
    )
    service = f"{url}/cds-services/{SERVICE_IDS['patient-view']}"

    def call(prefetch):
        body = request("patient-view", prefetch=prefetch, fhirServer="https://unregistered.example/fhir")
        return http.post(service, json=body, headers=bearer(signer.token(iss, service)))

    for _ in range(3):
        assert call(empty_prefetch()).status_code == 200  # nothing to fetch: no noise
    assert "fhirServer not registered" not in log_lines.text
    incomplete = empty_prefetch()
    del incomplete["conditions"]
    assert call(incomplete).status_code == 412
    assert log_lines.text.count("fhirServer not registered") == 1
