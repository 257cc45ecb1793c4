"""Every branch of the advice, rendered through the served app, checked for self-contradiction
(issue 23, Done-when): no card both warns against an order and recommends it, a card never
recommends an order the service itself does not rate appropriate, a newborn's or a pregnant
patient's card never offers the CT-first pathway, and a suggested order's note says what its card
says about contrast safety and children.

Branches: patient (adult, child, pregnant adult, newborn, 67-year-old with diabetes and no kidney
function result, pregnant adolescent) x work-up (none, MRI done, CT done) x a CT already ordered
or not x contrast findings (none, or a low eGFR and a contrast allergy) x the draft (every order
class the pathway judges, on order-select and on order-sign) and patient-view. The clock is fixed,
so ages and result windows never depend on the day the suite runs."""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CASE = json.loads((REPO / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json").read_text())
KNOWLEDGE = REPO / "hooks" / "knowledge"
CARDS = json.loads((KNOWLEDGE / "cards.json").read_text())
PAMA = json.loads((KNOWLEDGE / "pama.json").read_text())
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PID = CASE["context"]["patientId"]
CPT, LOINC, SCT = "http://www.ama-assn.org/go/cpt", "http://loinc.org", "http://snomed.info/sct"
SERVICE = {
    "order-select": "flank-mass-imaging-order-select",
    "order-sign": "flank-mass-imaging-order-sign",
    "patient-view": "flank-mass-imaging-patient-view",
}
DRAFTS = {  # one draft per order class the pathway judges
    "mri": ("74183", "MRI abdomen w/wo contrast"),
    "mri-without": ("74181", "MRI abdomen without contrast"),
    "biopsy": ("49180", "Biopsy, abdominal or retroperitoneal mass"),
    "ct-with": ("74160", "CT abdomen with contrast"),
    "ct-without": ("74150", "CT abdomen without contrast"),
    "ct-without-then-with": ("74170", "CT abdomen without then with contrast"),
}
CT_CODES = {("http://www.ama-assn.org/go/cpt", c) for c in ("74170", "74160", "74150")} | {(LOINC, "36267-3")}
WORDS = {"mri": "MRI", "mri-without": "MRI", "biopsy": "biopsy", "ct-with": "CT", "ct-without": "CT"}
RATING_URL = next(p for p in PAMA["profiles"] if p["placement"] == "systemActions")["ratingUrl"]
PATHWAY = CARDS["fragments"]["pathway"].splitlines()[0]  # "1. CT abdomen without then with IV contrast: ..."


def _day(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(resource: dict) -> dict:
    return {"resource": resource}


def _condition(cid: str, code: dict, text: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "code": {"coding": [code], "text": text},
        "subject": {"reference": f"Patient/{PID}"},
        "recordedDate": _day(30)[:10],
    }


def _patient(body: dict, who: str) -> None:
    patient = body["prefetch"]["patient"]
    births = {
        "adult": ("1975-03-01", "male"),
        "child": ("2020-06-01", "female"),
        "pregnant": ("1994-05-05", "female"),
        "pregnant-adolescent": ("2010-02-02", "female"),
        "newborn": ((NOW - timedelta(days=10)).date().isoformat(), "male"),
        "older-diabetic": ("1959-01-01", "female"),
    }
    patient["birthDate"], patient["gender"] = births[who]
    conditions = body["prefetch"]["conditions"]["entry"]
    if who.startswith("pregnant"):
        conditions.append(_entry(_condition("preg-1", {"system": SCT, "code": "77386006"}, "Pregnancy")))
    if who == "older-diabetic":
        conditions.append(
            _entry(_condition("dm-1", {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}, "T2DM"))
        )


def _workup(body: dict, done: str | None, ct_ordered: bool) -> None:
    studies = body["prefetch"]["imagingStudies"]["entry"]
    if done:
        studies.append(
            _entry(
                {
                    "resourceType": "ImagingStudy",
                    "id": f"{done.lower()}-done",
                    "status": "available",
                    "subject": {"reference": f"Patient/{PID}"},
                    "started": _day(3),
                    "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": done}],
                    "description": f"{done} ABDOMEN",
                }
            )
        )
    if ct_ordered:
        body["prefetch"]["serviceRequests"] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                _entry(
                    {
                        "resourceType": "ServiceRequest",
                        "id": "ct-active",
                        "status": "active",
                        "intent": "order",
                        "code": {"coding": [{"system": CPT, "code": "74170"}]},
                        "subject": {"reference": f"Patient/{PID}"},
                    }
                )
            ],
        }


def _safety(body: dict, findings: bool) -> None:
    body["prefetch"]["renalLabs"] = None
    body["prefetch"]["pregnancy"] = None
    body["prefetch"]["medications"] = None
    body["prefetch"]["allergies"] = None
    if not findings:
        return
    body["prefetch"]["renalLabs"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            _entry(
                {
                    "resourceType": "Observation",
                    "id": "egfr-low",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "98979-8"}]},
                    "subject": {"reference": f"Patient/{PID}"},
                    "effectiveDateTime": _day(5),
                    "valueQuantity": {"value": 22, "unit": "mL/min/{1.73_m2}"},
                }
            )
        ],
    }
    body["prefetch"]["allergies"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            _entry(
                {
                    "resourceType": "AllergyIntolerance",
                    "id": "contrast-1",
                    "patient": {"reference": f"Patient/{PID}"},
                    "code": {"text": "Iohexol (Omnipaque)"},
                    "recordedDate": "2024-02-03",
                }
            )
        ],
    }


def _request(hook: str, order_class: str | None, who: str, done, ct_ordered: bool, findings: bool) -> dict:
    body = copy.deepcopy(CASE)
    body["hook"] = hook
    _patient(body, who)
    _workup(body, done, ct_ordered)
    _safety(body, findings)
    if hook == "patient-view":
        body["context"].pop("draftOrders", None)
        body["context"].pop("selections", None)
        return body
    code, text = DRAFTS[order_class]
    draft = copy.deepcopy(body["context"]["draftOrders"]["entry"][0]["resource"])
    draft["code"] = {"coding": [{"system": CPT, "code": code}], "text": text}
    draft["intent"] = "plan" if hook == "order-select" else "order"
    body["context"]["draftOrders"]["entry"] = [{"resource": draft}]
    if hook == "order-select":
        body["context"]["selections"] = [f"ServiceRequest/{draft['id']}"]
    else:
        body["context"].pop("selections", None)
    return body


PATIENTS = ("adult", "child", "pregnant", "pregnant-adolescent", "newborn", "older-diabetic")
BRANCHES = [
    (hook, order_class, who, done, ct_ordered, findings)
    for who, done, ct_ordered, findings in itertools.product(PATIENTS, (None, "MR", "CT"), (False, True), (False, True))
    for hook, order_class in [("patient-view", None)] + [(h, c) for h in ("order-select", "order-sign") for c in DRAFTS]
]


def _rating(resource: dict) -> str | None:
    for ext in resource.get("extension") or ():
        if ext.get("url") == RATING_URL:
            return ext["valueCodeableConcept"]["coding"][0]["code"]  # this profile sends the rating words as they are
    return None


def _is_ct(resource: dict) -> bool:
    return bool({(c.get("system"), c.get("code")) for c in resource["code"]["coding"]} & CT_CODES)


def _section_lines(detail: str) -> list[str]:
    """The contrast safety findings as the card shows them (lines of its first section)."""
    if not detail.startswith("**Contrast safety"):
        return []
    head = detail.split("\n\n", 1)[0]
    return [line[2:].replace("**", "") for line in head.splitlines()[1:] if line.startswith("- ")]


def _check(branch, body: dict, answer: dict) -> None:
    hook, order_class, who, *_ = branch
    special = who.startswith("pregnant") or who == "newborn"
    draft_rating = None
    for action in answer.get("systemActions", ()):
        draft_rating = _rating(action["resource"])
    for card in answer["cards"]:
        detail = card["detail"]
        suggested = [a.get("resource") for s in card.get("suggestions", ()) for a in s["actions"]]
        suggested = [r for r in suggested if isinstance(r, dict)]
        for resource in suggested:
            # never recommends what it warns against, nor anything the service does not rate appropriate
            assert _rating(resource) == "appropriate", (branch, card["summary"])
            if draft_rating == "not-appropriate":
                code, _ = DRAFTS[order_class]
                assert code not in {c.get("code") for c in resource["code"]["coding"]}, branch
            if special:
                assert not _is_ct(resource), f"{branch}: a CT is offered to a {who} patient"
        if draft_rating == "not-appropriate" and order_class in WORDS:
            word = WORDS[order_class]
            pattern = rf"\b(consider|use|prefer|ask for|order)\b[^.;]*\b{word}\b[^.;]*\b(first|instead)\b"
            assert not re.search(pattern, detail, re.IGNORECASE), f"{branch}: warns against {word} yet advises it"
        if special:
            assert PATHWAY not in detail and "radiolog" in detail, branch
        own = f"ServiceRequest/{body['context']['draftOrders']['entry'][0]['resource']['id']}" if order_class else None
        for sentence in re.findall(r"[^.]*already ordered[^;]*", detail):
            assert own is None or own not in sentence, f"{branch}: the card calls its own draft already ordered"
        advises_ct = any(_is_ct(r) for r in suggested) or "next test is CT abdomen" in card["summary"]
        if special:
            assert not advises_ct, f"{branch}: the CT is advised to a {who} patient"
        if not advises_ct:
            assert "The CT is still suggested" not in detail, branch
        for resource in suggested:  # the order's note says what the card says
            note = " ".join(n["text"] for n in resource.get("note", ()))
            for line in _section_lines(detail):
                assert line in note, (branch, line)
            assert ("dose-optimised pediatric CT protocol" in note) == ("dose-optimised CT" in detail), branch


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    from cds_service import create_app
    from cds_service.config import Settings

    folder = tmp_path_factory.mktemp("consistency")
    app = create_app(Settings.from_env({"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{folder}/cds.sqlite3"}))
    app.extensions["cds"].clock = NOW.timestamp
    client = app.test_client()
    found = {}
    for branch in BRANCHES:
        body = _request(*branch)
        response = client.post(f"/cds-services/{SERVICE[branch[0]]}", json=body)
        assert response.status_code == 200, (branch, response.get_data(as_text=True)[:300])
        found[branch] = (body, response.get_json())
    app.extensions["cds"].ledger.flush()
    return found


def test_every_branch_is_rendered_and_none_contradicts_itself(answers):
    kinds = set()
    for branch, (body, answer) in answers.items():
        _check(branch, body, answer)
        kinds |= {c["summary"] for c in answer["cards"]}
    assert len(answers) == len(BRANCHES) > 500
    summaries = {
        kind
        for kind, spec in CARDS["kinds"].items()
        for s in CARDS["sides"]
        for g in CARDS["patientGroups"].values()
        if spec["summary"].format(side=CARDS["sides"][s], sideAdj=CARDS["sideAdjectives"][s], patientGroup=g) in kinds
    }
    assert summaries == set(CARDS["kinds"]), "every card kind is reached by some branch"


def test_pregnancy_and_newborn_branches_never_offer_the_ct(answers):
    for branch, (_, answer) in answers.items():
        if branch[2] in ("pregnant", "pregnant-adolescent", "newborn"):
            assert all("suggestions" not in card for card in answer["cards"]), branch


def test_biopsy_before_imaging_still_warns_in_pregnancy_and_in_a_newborn(answers):
    for branch, (_, answer) in answers.items():
        hook, order_class, who, done, *_ = branch
        if order_class == "biopsy" and done is None and who in ("pregnant", "newborn"):
            [card] = answer["cards"]
            assert card["indicator"] == ("critical" if hook == "order-sign" else "warning"), branch


def test_missing_kidney_function_is_said_in_card_and_order_note_alike(answers):
    said = 0
    for branch, (_, answer) in answers.items():
        if branch[2] != "older-diabetic" or branch[5]:
            continue
        for card in answer["cards"]:
            for suggestion in card.get("suggestions", ()):
                resource = suggestion["actions"][0].get("resource")
                if resource is None:
                    continue
                note = " ".join(n["text"] for n in resource["note"])
                assert "no eGFR or creatinine in the last 90 days" in card["detail"], branch
                assert "no eGFR or creatinine in the last 90 days" in note and "diabetes (Condition/dm-1)" in note
                said += 1
    assert said > 10
