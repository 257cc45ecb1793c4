"""Issue 21 points 8 and 11: a FHIR server that answers a search with something other than a
Bundle, or a read with another resource type, has failed the fetch (412 naming the key, or the
optional key's "could not be checked"), never "no data"; and fetch slots are per FHIR base URL, so
a dripping tenant of a multi-tenant server (one host and port) does not starve the others."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest

from cds_service.fhir.client import FetchFailed, FhirClient
from tests.support.builders import SERVICE_IDS, patient, request
from tests.support.faulty_fhir import FaultyFhir
from tests.support.servers import FhirStandIn

VIEW = SERVICE_IDS["patient-view"]
WRONG = [
    ("Patient/p1", {"resourceType": "Observation", "id": "p1", "status": "final", "code": {"text": "x"}}, "patient"),
    ("Condition?patient=p1", patient(), "conditions"),
    ("DiagnosticReport?patient=p1", {"resourceType": "Binary", "contentType": "text/plain"}, "diagnosticReports"),
]


@pytest.mark.parametrize(("route", "answer", "key"), WRONG, ids=[w[2] for w in WRONG])
def test_an_answer_of_the_wrong_type_fails_the_fetch(live, http, route, answer, key):
    url = live()
    with FhirStandIn(token=None) as fhir:
        fhir.routes["Patient/p1"] = patient()
        fhir.routes[route] = answer
        response = http.post(f"{url}/cds-services/{VIEW}", json=request("patient-view", fhirServer=fhir.url))
    assert response.status_code == 412, response.text
    assert key in response.json()["message"]


def test_a_dripping_tenant_does_not_starve_another_on_the_same_origin():
    client = FhirClient(timeout_s=5.0, max_pages=3, max_per_server=2)
    with FaultyFhir() as faulty:
        dripping, healthy = faulty.base_for("slowbody"), faulty.base_for("ok")
        assert dripping.split("/")[2] == healthy.split("/")[2], "one host and port, two FHIR bases"
        slow_deadline = time.monotonic() + 3.0
        slow_jobs = {
            f"k{i}": partial(client.read, f"Condition?patient=p{i}", dripping, None, slow_deadline) for i in range(2)
        }
        held = threading.Thread(target=client.gather, args=(slow_jobs, slow_deadline, dripping))
        held.start()
        time.sleep(0.3)  # the dripping base's two slots are taken
        deadline = time.monotonic() + 2.0
        jobs = {f"k{i}": partial(client.read, f"Condition?patient=p{i}", healthy, None, deadline) for i in range(2)}
        fine = client.gather(jobs, deadline, healthy)
        held.join(10)
    assert not any(isinstance(r, FetchFailed) for r in fine.values()), fine
