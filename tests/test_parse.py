"""The parse stage: which resources are this patient's, which drafts are judged, which are valid R4."""

import json
from pathlib import Path

import pytest

from cds_service.pipeline.parse import PatientRecord, resources_of, subject_id
from cds_service.pipeline.scope import judged_orders

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"


@pytest.mark.parametrize(
    "resource, expected",
    [
        ({"subject": {"reference": "Patient/p1"}}, "p1"),
        ({"subject": {"reference": "https://ehr.example/fhir/Patient/p1/_history/3"}}, "p1"),
        ({"patient": {"reference": "Patient/p1"}}, "p1"),
        ({"subject": {"reference": "Group/g1"}}, None),
        ({"subject": {"display": "no reference"}}, None),
        ({"subject": "Patient/p1"}, None),
        ({}, None),
    ],
)
def test_subject_id(resource, expected):
    assert subject_id(resource) == expected


def test_resources_of_bundles_resources_and_null():
    condition = {"resourceType": "Condition", "id": "c"}
    assert resources_of(None) == []
    assert resources_of(condition) == [condition]
    assert resources_of({"resourceType": "Bundle", "entry": [{"resource": condition}, {"fullUrl": "x"}, "junk"]}) == [
        condition
    ]


def test_judged_orders_follow_the_service():
    drafts = [{"resourceType": "ServiceRequest", "id": "a"}, {"resourceType": "ServiceRequest", "id": "b"}]
    assert judged_orders(drafts, {"selections": ["ServiceRequest/b"]}, "selections") == [drafts[1]]
    assert judged_orders(drafts, {}, "draftOrders") == drafts
    assert judged_orders(drafts, {}, "none") == []


def test_invalid_r4_is_refused_and_counted():
    record = PatientRecord("p1")
    good = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}}
    bad = {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"}, "clinicalStatus": "active"}
    unknown = {"resourceType": "NotAThing", "id": "x"}
    assert record.valid(good) and not record.valid(bad) and not record.valid(unknown)
    assert record.valid(bad) is False and record.invalid == 2  # asked twice, counted once


def test_a_mass_recorded_as_invalid_r4_is_not_used(live, http):
    index = json.loads((CASES / "index.json").read_text())
    entry = next(c for c in index["cases"] if c["name"] == "adult-left-coded-conclusion-mri")
    body = json.loads((CASES / entry["file"]).read_text())
    url = f"{live()}/cds-services/{entry['service']}"
    assert http.post(url, json=body).json()["cards"], "the untouched case raises a card"
    conditions = [f"Condition/{item['resource']['id']}" for item in body["prefetch"]["conditions"]["entry"]]
    for item in body["prefetch"]["conditions"]["entry"]:
        item["resource"]["onsetDateTime"] = "not a date"
    cards = http.post(url, json=body).json()["cards"]
    # the ultrasound report still describes the calcified mass (issue 9), but the invalid Condition is never cited
    assert not any(ref in card["detail"] for card in cards for ref in conditions)
    for report in body["prefetch"]["diagnosticReports"]["entry"]:
        report["resource"].pop("conclusion", None)
    assert http.post(url, json=body).json()["cards"] == []
