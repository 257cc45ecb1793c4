"""A call whose drafts no chart can change reads no chart (pipeline/scope.py): nothing is fetched
from the EHR's FHIR server and there is no 412 for prefetch it would not read; what the client
sent is still checked for shape. A draft the chart can change, and patient-view, still need it."""

from __future__ import annotations

import pytest

from tests.support.builders import SERVICE_IDS, draft_service_request, fhir_authorization, mri_draft, request

ASPIRIN = {
    "resourceType": "MedicationRequest",
    "id": "mr-1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1191"}]
    },
}
CHEST_XRAY = draft_service_request(
    code={"coding": [{"system": "http://loinc.org", "code": "36643-5"}], "text": "XR Chest 2V"}
)
HALF_FILLED = draft_service_request()  # the Sandbox's first call: a draft with an empty coding
MRI = mri_draft()


def _post(http, url, hook, body):
    return http.post(f"{url}/cds-services/{SERVICE_IDS[hook]}", json=body)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("draft", [ASPIRIN, CHEST_XRAY, HALF_FILLED], ids=["medication", "chest-xray", "half-filled"])
def test_a_draft_no_chart_can_change_fetches_nothing_and_needs_no_prefetch(live, http, fhir, log_lines, hook, draft):
    url = live()
    with_server = request(hook, drafts=[draft], fhirServer=fhir.url, fhirAuthorization=fhir_authorization(fhir.token))
    answer = _post(http, url, hook, with_server)
    assert answer.status_code == 200 and answer.json() == {"cards": []}
    assert fhir.paths() == []
    alone = _post(http, url, hook, request(hook, drafts=[draft]))  # no prefetch, no fhirServer: still no 412
    assert alone.status_code == 200 and alone.json() == {"cards": []}
    assert [entry["evidence"] for entry in log_lines.requests()] == ["not needed", "not needed"]


def test_what_such_a_call_does_send_is_still_checked(live, http):
    body = request(drafts=[HALF_FILLED], prefetch={"conditions": {"resourceType": "Bundle", "entry": "not a list"}})
    answer = _post(http, live(), "order-select", body)
    assert answer.status_code == 400 and answer.json()["message"].startswith("prefetch.conditions:")


def test_a_draft_the_chart_can_change_still_fetches_or_answers_412(live, http, fhir):
    url = live()
    body = request(drafts=[MRI], fhirServer=fhir.url, fhirAuthorization=fhir_authorization(fhir.token))
    assert _post(http, url, "order-select", body).status_code == 200
    assert fhir.paths()  # the chart was fetched
    assert _post(http, url, "order-select", request(drafts=[MRI])).status_code == 412
    assert _post(http, url, "patient-view", request("patient-view")).status_code == 412


def test_an_unrelated_draft_beside_a_judged_one_does_not_stop_the_chart_being_read(live, http, fhir):
    body = request(drafts=[ASPIRIN, MRI], fhirServer=fhir.url, fhirAuthorization=fhir_authorization(fhir.token))
    body["context"]["selections"] = ["MedicationRequest/mr-1", "ServiceRequest/sr-1"]
    assert _post(http, live(), "order-select", body).status_code == 200
    assert fhir.paths()
