"""The chart search remembered per content digest: a repeated chart answers as before, a changed
chart is searched again, the request log counts invalid resources on every call, and the memo
stays within its byte budget."""

from __future__ import annotations

from datetime import date

from cds_service.pipeline import evidence_memo
from cds_service.pipeline.digest_cache import DigestCache
from cds_service.pipeline.evidence import Evidence
from cds_service.pipeline.parse import PatientRecord
from tests.support.builders import SERVICE_IDS
from tests.support.cases import case_request

POSITIVE = "adult-left-coded-conclusion-mri.json"


def _cards(http, url, body):
    answer = http.post(f"{url}/cds-services/{SERVICE_IDS['order-select']}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["cards"]


def _without_uuids(cards):
    """Cards as a clinician reads them: every uuid (card, suggestion, consult id) is fresh per response."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("uuid", "id", "authoredOn")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return "urn:uuid:" if isinstance(value, str) and value.startswith("urn:uuid:") else value

    return strip(cards)


def test_a_repeated_chart_answers_the_same_and_a_changed_chart_is_searched_again(live, http):
    url = live()
    first = _cards(http, url, case_request(POSITIVE))
    again = _cards(http, url, case_request(POSITIVE))
    assert first and _without_uuids(again) == _without_uuids(first)
    assert {c["uuid"] for c in again}.isdisjoint(c["uuid"] for c in first)

    resolved = case_request(POSITIVE)
    for entry in resolved["prefetch"]["conditions"]["entry"]:
        entry["resource"]["clinicalStatus"]["coding"][0]["code"] = "resolved"
    assert _cards(http, url, resolved) == []  # same patient, changed chart: no stale card
    assert _without_uuids(_cards(http, url, case_request(POSITIVE))) == _without_uuids(first)


def test_invalid_resources_are_counted_on_a_remembered_chart_too(live, http, log_lines):
    url = live()
    body = case_request(POSITIVE)
    broken = dict(body["prefetch"]["conditions"]["entry"][0]["resource"], id="flank-mass-2", recordedDate="2026-13-45")
    body["prefetch"]["conditions"]["entry"].append({"resource": broken})
    for _ in range(2):
        http.post(f"{url}/cds-services/{SERVICE_IDS['order-select']}", json=body).raise_for_status()
    counts = [entry.get("invalidR4") for entry in log_lines.requests()]
    assert counts == [1, 1]


def test_the_memo_stays_within_its_byte_budget():
    filler = "x" * 200_000
    for i in range(2 * evidence_memo.MAX_BYTES // len(filler)):
        record = PatientRecord(patient_id=f"p{i}", patient={"resourceType": "Patient", "id": f"p{i}", "text": filler})
        evidence_memo.recall(record, DigestCache(1), date(2026, 12, 1), Evidence)  # any object stands for the knowledge
        assert evidence_memo._MEMO.bytes <= evidence_memo.MAX_BYTES
    assert 0 < len(evidence_memo._MEMO) < 2 * evidence_memo.MAX_BYTES // len(filler)


def _ct_request(patient_ref: str, status: str) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": "sr-ct",
        "status": status,
        "intent": "order" if status == "active" else "plan",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "74170"}], "text": "CT abdomen"},
        "subject": {"reference": patient_ref},
    }


def test_a_session_whose_drafts_change_reuses_the_chart_search_and_answers_as_a_fresh_search(live, http, log_lines):
    """One chart, three drafts in turn: MRI; the CT that the chart also lists as active (an EHR
    that shows its drafts in the orders query: it must not count as already placed); MRI again
    under another id. Each answer equals what a service that never saw the chart says."""
    base = case_request(POSITIVE)
    patient_ref = base["context"]["draftOrders"]["entry"][0]["resource"]["subject"]["reference"]
    base["prefetch"]["serviceRequests"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": _ct_request(patient_ref, "active")}],
    }
    mri = base["context"]["draftOrders"]["entry"][0]["resource"]
    drafts = [mri, _ct_request(patient_ref, "draft"), {**mri, "id": "sr-mri-2"}]
    bodies = []
    for draft in drafts:
        body = {**base, "context": {**base["context"], "selections": [f"ServiceRequest/{draft['id']}"]}}
        body["context"]["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        }
        bodies.append(body)

    session = live()
    answers = [_cards(http, session, body) for body in bodies]
    assert [entry["evidence"]["remembered"] for entry in log_lines.requests()] == [False, True, True]
    fresh = []
    for body in bodies:  # each searched anew
        evidence_memo._MEMO.clear()
        fresh.append(_cards(http, session, body))
    assert [entry["evidence"]["remembered"] for entry in log_lines.requests()[3:]] == [False, False, False]
    assert [_without_uuids(a) for a in answers] == [_without_uuids(f) for f in fresh]
    # the drafts did change the answer: the placed CT is named while MRI is drafted, not when it is the draft
    assert "A CT abdomen is already ordered (CT abdomen)" in answers[0][0]["detail"]
    assert answers[1] == []  # the CT draft is the suggested order: nothing to say
