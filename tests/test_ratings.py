"""Appropriateness ratings as systemActions (Argonaut PAMA) and the card ledger behind feedback."""

import json
import time
from pathlib import Path

import pytest

from cds_service.audit import report
from cds_service.storage import database_for

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
GUIDANCE = "http://fhir.org/argonaut/StructureDefinition/pama-rating"
SANDBOX = "http://fhir.org/argonaut/Extension/pama-rating"

# case -> the rating each draft must get: (guidance code, Sandbox code); drafts not listed get none.
EXPECTED = {
    "adult-left-coded-conclusion-mri": {"ServiceRequest/sr-mri": ("not-appropriate", "not-appropriate")},
    "adult-ct-without-then-with-concordant": {"ServiceRequest/sr-ct": ("appropriate", "appropriate")},
    "adult-ct-with-contrast-only": {"ServiceRequest/sr-ct": ("not-appropriate", "not-appropriate")},
    "neg-no-calcification": {"ServiceRequest/sr-mri": ("no-criteria-apply", "no-guidelines-apply")},
    "neg-ct-done-mri": {"ServiceRequest/sr-mri": ("appropriate", "appropriate")},
    "adult-order-sign-mri-and-biopsy": {
        "ServiceRequest/sr-mri": ("not-appropriate", "not-appropriate"),
        "ServiceRequest/sr-bx": ("not-appropriate", "not-appropriate"),
    },
    "adult-unrelated-order": {},
    "half-filled-draft": {},
    "dstu2-medication-order-draft": {},
    "child-condition-evidence-patient-view": {},
}


def _case(name):
    index = json.loads((CASES / "index.json").read_text())
    entry = next(c for c in index["cases"] if c["name"] == name)
    return entry["service"], json.loads((CASES / entry["file"]).read_text())


def _ratings(actions, url):
    found = {}
    for action in actions:
        assert action["type"] == "update" and action["description"]
        resource = action["resource"]
        by_url = {e["url"]: e for e in resource["extension"]}
        rating = by_url[url]["valueCodeableConcept"]["coding"][0]
        assert rating["system"] == "http://fhir.org/argonaut/CodeSystem/pama-rating"
        consult = by_url[url.replace("pama-rating", "pama-rating-consult-id")]["valueUri"]
        assert consult.startswith("urn:uuid:")
        assert by_url[url.replace("pama-rating", "pama-rating-qcdsm-consulted")]["valueString"]
        found[f"{resource['resourceType']}/{resource['id']}"] = (rating["code"], consult)
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_judged_imaging_order_is_rated_in_both_places(live, http, name):
    service, body = _case(name)
    response = http.post(f"{live()}/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = EXPECTED[name]
    if not expected:
        assert "systemActions" not in answer and "extension" not in answer
        return
    top = _ratings(answer["systemActions"], GUIDANCE)
    sandbox = _ratings(answer["extension"]["systemActions"], SANDBOX)
    assert {ref: code for ref, (code, _) in top.items()} == {ref: codes[0] for ref, codes in expected.items()}
    assert {ref: code for ref, (code, _) in sandbox.items()} == {ref: codes[1] for ref, codes in expected.items()}
    for ref in expected:
        assert top[ref][1] == sandbox[ref][1], "one consult id per rated order, in both copies"
    drafts = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
        for e in body["context"]["draftOrders"]["entry"]
    }
    for action in answer["systemActions"]:
        rated = dict(action["resource"])
        rated.pop("extension")
        original = dict(drafts[f"{rated['resourceType']}/{rated['id']}"])
        original.pop("extension", None)
        assert rated == original, "the rating update may only add extensions"


def test_a_previous_rating_is_replaced_not_stacked(live, http):
    service, body = _case("adult-left-coded-conclusion-mri")
    url = live()
    first = http.post(f"{url}/cds-services/{service}", json=body).json()
    body["context"]["draftOrders"]["entry"][0]["resource"] = first["extension"]["systemActions"][0]["resource"]
    second = http.post(f"{url}/cds-services/{service}", json=body).json()
    urls = [e["url"] for e in second["extension"]["systemActions"][0]["resource"]["extension"]]
    assert urls.count(SANDBOX) == 1 and len(urls) == len(set(urls))


def test_cards_and_ratings_are_recorded_and_joined_to_feedback(live, http, tmp_path):
    db_url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    url = live({"CDS_DATABASE_URL": db_url})
    service, body = _case("adult-order-sign-mri-and-biopsy")
    answer = http.post(f"{url}/cds-services/{service}", json=body).json()
    mri, biopsy = answer["cards"]
    suggestion = mri["suggestions"][0]["uuid"]
    feedback = {
        "feedback": [
            {
                "card": mri["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": suggestion}],
                "outcomeTimestamp": "2026-11-21T10:00:00Z",
            },
            {
                "card": biopsy["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-21T10:01:00Z",
                "overrideReason": {"reason": biopsy["overrideReasons"][0]},
            },
        ]
    }
    assert http.post(f"{url}/cds-services/{service}/feedback", json=feedback).status_code == 200
    db = database_for(db_url)
    deadline = time.monotonic() + 5  # the ledger is written after the response is sent
    while db.query("SELECT COUNT(*) FROM cds_card")[0][0] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    cards = db.query("SELECT uuid, kind, indicator, suggestion_uuids, consult_id FROM cds_card ORDER BY kind")
    consults = {row[0]: row[1:] for row in db.query("SELECT consult_id, order_kind, rating FROM cds_rating")}
    assert [(c[1], c[2]) for c in cards] == [("biopsy-before-imaging", "critical"), ("mri-before-ct", "warning")]
    assert json.loads(cards[1][3]) == [suggestion]
    assert consults[cards[1][4]] == ("mri", "not-appropriate") and consults[cards[0][4]] == (
        "biopsy",
        "not-appropriate",
    )
    data = report.build(db, since_days=1)
    kinds = {k["kind"]: k for k in data["services"][0]["kinds"]}
    assert kinds["mri-before-ct"]["accepted"] == 1 and kinds["biopsy-before-imaging"]["overridden"] == 1
    assert kinds["biopsy-before-imaging"]["overrideReasons"][0]["code"] == biopsy["overrideReasons"][0]["code"]
    patient = body["context"]["patientId"]
    everything = json.dumps([db.query(f"SELECT * FROM {t}") for t in ("cds_card", "cds_rating", "cds_feedback")])
    assert patient not in everything, "no patient identifier is stored"


def test_error_answers_record_nothing(live, http, tmp_path):
    db_url = f"sqlite:///{tmp_path}/ledger2.sqlite3"
    url = live({"CDS_DATABASE_URL": db_url})
    service, body = _case("neg-no-calcification")
    del body["prefetch"]
    assert http.post(f"{url}/cds-services/{service}", json=body).status_code == 412
    assert database_for(db_url).query("SELECT COUNT(*) FROM cds_card")[0][0] == 0
