"""Every fixture case in fixtures/cases/index.json, through the real HTTP API and through the
`cds-service evaluate` CLI, checked against its expected outcome (cards, indicators, summaries,
suggestions) and against the CDS Hooks rules every card must obey."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from jsonschema import Draft202012Validator

from cds_service import pipeline
from cds_service.pipeline.exchange import Exchange

REPO = Path(__file__).resolve().parent.parent
CASES_DIR = REPO / "fixtures" / "cases"
INDEX = json.loads((CASES_DIR / "index.json").read_text())
CASES = INDEX["cases"]
CARDS = json.loads((REPO / "hooks" / "knowledge" / "cards.json").read_text())
OVERRIDE_SYSTEM = json.loads((REPO / "hooks" / "knowledge" / "override-reasons.json").read_text())["system"]
RESPONSE_SCHEMA = Draft202012Validator(json.loads((REPO / "hooks" / "schemas" / "response.schema.json").read_text()))
CPT, LOINC = "http://www.ama-assn.org/go/cpt", "http://loinc.org"
NOT_R4 = {"MedicationOrder"}  # the DSTU2 draft case sends one on purpose


def request_of(case) -> dict:
    return json.loads((CASES_DIR / case["file"]).read_text())


def drafts_of(body) -> list[dict]:
    return [e["resource"] for e in (body["context"].get("draftOrders") or {}).get("entry", [])]


def summaries_of(kind: str) -> set[str]:
    template = CARDS["kinds"][kind]["summary"]
    return {
        template.format(side=CARDS["sides"][s], sideAdj=CARDS["sideAdjectives"][s], patientGroup=g)
        for s in CARDS["sides"]
        for g in CARDS["patientGroups"].values()
    }


def check_ct_order(resource: dict, body: dict, action_type: str) -> None:
    pid = body["context"]["patientId"]
    assert resource["resourceType"] == "ServiceRequest" and resource["status"] == "draft"
    assert get_fhir_model_class("ServiceRequest").model_validate(resource)
    codes = {(c["system"], c["code"]) for c in resource["code"]["coding"]}
    assert {(CPT, "74170"), (LOINC, "36267-3")} <= codes
    assert resource["subject"] == {"reference": f"Patient/{pid}"}
    conditions = {
        f"Condition/{e['resource']['id']}" for e in (body["prefetch"].get("conditions") or {}).get("entry", [])
    }
    assert {r["reference"] for r in resource["reasonReference"]} & conditions
    assert any("pre-contrast" in n["text"].lower() for n in resource["note"])
    if action_type == "update":
        draft = next(d for d in drafts_of(body) if d.get("id") == resource["id"])
        assert resource["intent"] == draft["intent"]
    else:
        assert resource["intent"] == "order" and resource["id"] not in {d.get("id") for d in drafts_of(body)}


def check_response(case: dict, status: int, response: dict) -> None:
    body = request_of(case)
    assert status == case["status"], f"status {status}: {response}"
    assert not list(RESPONSE_SCHEMA.iter_errors(response))
    cards, expected = response["cards"], case["cards"]
    assert len(cards) == len(expected), [c["summary"] for c in cards]
    ids = [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", ())]
    assert len(set(ids)) == len(ids) and all(uuid.UUID(i).version == 4 for i in ids)
    for card, want in zip(cards, expected, strict=True):
        assert card["indicator"] == want["indicator"]
        assert card["summary"] == want["summary"] and len(card["summary"]) < 140
        assert card["summary"] in summaries_of(want["kind"]), f"summary is not a {want['kind']} card"
        for words in want.get("detailIncludes", ()):
            assert words in card["detail"], f"{words!r} missing from detail"
        assert card["source"]["label"] and card["source"]["topic"]["code"] and card["source"]["topic"]["system"]
        assert card["overrideReasons"] and all(
            r["system"] == OVERRIDE_SYSTEM and r["code"] and r["display"] for r in card["overrideReasons"]
        )
        if want["suggestion"] is None:
            assert "suggestions" not in card
            continue
        assert card["selectionBehavior"] == "at-most-one"
        [suggestion] = card["suggestions"]
        [action] = suggestion["actions"]
        assert action["type"] == want["suggestion"]
        if action["type"] == "delete":
            assert action["resourceId"] in {f"{d['resourceType']}/{d['id']}" for d in drafts_of(body)}
        else:
            check_ct_order(action["resource"], body, action["type"])


def test_the_index_names_every_fixture_and_covers_the_situations():
    files = {p.name for p in CASES_DIR.glob("*.json")} - {"index.json"}
    assert {c["file"] for c in CASES} == files
    assert len(CASES) >= 15
    kinds = {card["kind"] for case in CASES for card in case["cards"]}
    # A newborn's age is counted to the day the call is judged: newborn kinds are exercised by the
    # labelled corpus, whose charts carry their own `now`; every other kind has a fixture case too.
    corpus = {
        card["kind"]
        for path in (REPO / "fixtures" / "corpus").glob("*.json")
        for card in json.loads(path.read_text())["expect"]["cards"]
    }
    assert kinds <= set(CARDS["kinds"]) and kinds | corpus == set(CARDS["kinds"])
    assert {k for k in CARDS["kinds"] if not k.startswith("neonate-")} <= kinds
    assert {c["service"] for c in CASES} == {
        "flank-mass-imaging-order-select",
        "flank-mass-imaging-order-sign",
        "flank-mass-imaging-patient-view",
    }
    assert sum(1 for c in CASES if not c["cards"]) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_resources_are_valid_r4(case):
    body = request_of(case)
    resources = [
        e["resource"]
        for value in body["prefetch"].values()
        if value
        for e in ((value.get("entry") or []) if value.get("resourceType") == "Bundle" else [{"resource": value}])
    ]
    for resource in resources + drafts_of(body):
        if resource["resourceType"] not in NOT_R4:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_every_case_over_http(live, http):
    base = live()
    failures = []
    for case in CASES:
        reply = http.post(f"{base}/cds-services/{case['service']}", json=request_of(case), timeout=10)
        try:
            check_response(case, reply.status_code, reply.json())
        except AssertionError as exc:
            failures.append(f"{case['name']}: {exc}")
    assert not failures, "\n".join(failures)


def test_repeated_calls_give_the_same_advice(live, http):
    base = live()
    case = CASES[0]
    first, second = (
        http.post(f"{base}/cds-services/{case['service']}", json=request_of(case), timeout=10).json() for _ in range(2)
    )
    assert [c["summary"] for c in first["cards"]] == [c["summary"] for c in second["cards"]]
    assert first["cards"][0]["uuid"] != second["cards"][0]["uuid"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if "verdicts" in c], ids=[c["name"] for c in CASES if "verdicts" in c]
)
def test_per_order_verdicts(make_app, case):
    runtime = make_app().extensions["cds"]
    exchange = Exchange(
        service=runtime.content.services[case["service"]],
        raw_body=(CASES_DIR / case["file"]).read_bytes(),
        request_id="fixture",
    )
    pipeline.run(exchange, runtime)
    assert {d.draft_ref: d.verdict for d in exchange.decisions} == case["verdicts"]
    assert [d.kind for d in exchange.decisions if d.kind] == [c["kind"] for c in case["cards"]]


@pytest.fixture(scope="module")
def cli_results():
    """Every case through `python -m cds_service evaluate`, a few processes at a time."""

    def evaluate(case):
        done = subprocess.run(
            [sys.executable, "-m", "cds_service", "evaluate", str(CASES_DIR / case["file"])],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return case["name"], done

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(evaluate, CASES))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_case_through_the_cli(cli_results, case):
    done = cli_results[case["name"]]
    assert done.returncode == (0 if case["status"] == 200 else 1), done.stderr[-2000:]
    check_response(case, 200 if done.returncode == 0 else -1, json.loads(done.stdout))
