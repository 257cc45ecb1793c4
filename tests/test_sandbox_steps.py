"""Each suggestion we make goes through the steps the CDS Hooks Sandbox takes to apply it
(tests/support/sandbox_steps.py follows its source), over HTTP, on the demo patients; and every
CodeableConcept of a suggested or rated resource carries a coding and a text, because clients
apply a suggestion by reading `coding[0]`.

The real Sandbox build is driven in headless Chromium by tests/test_sandbox_browser.py when
../shared is present; these run everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from tests.support.sandbox import prefetch_like_the_sandbox
from tests.support.sandbox_steps import PamaScreen, SandboxTypeError, accept_on_patient_view

ROOT = Path(__file__).resolve().parent.parent
DEMO = [e["resource"] for e in json.loads((ROOT / "fixtures" / "demo" / "patients.bundle.json").read_text())["entry"]]
CASES_DIR = ROOT / "fixtures" / "cases"
# Codings as the Sandbox's PAMA screen offers them (its CPT list and its SNOMED reason list).
CPT = "http://www.ama-assn.org/go/cpt"
MRI = {
    "system": CPT,
    "code": "74181",
    "display": "Magnetic resonance (eg, proton) imaging, abdomen; without contrast material(s)",
}
CT_WITH = {"system": CPT, "code": "74160", "display": "Computed tomography, abdomen; with contrast material(s)"}
CT_BOTH = "74170"
RENAL_MASS = {"system": "http://snomed.info/sct", "code": "309088003", "display": "Renal mass (finding)"}
# The elements of a ServiceRequest typed CodeableConcept, from the R4 model itself.
CONCEPTS = [
    f.alias or name for name, f in ServiceRequest.model_fields.items() if "CodeableConcept" in str(f.annotation)
]


def _call(http, base: str, service: str, hook: str, context: dict) -> dict:
    app_templates = {
        "order-select": "flank-mass-imaging-order-select",
        "patient-view": "flank-mass-imaging-patient-view",
    }
    assert app_templates[hook] == service
    discovery = http.get(f"{base}/cds-services").json()["services"]
    templates = next(s["prefetch"] for s in discovery if s["id"] == service)
    body = {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "http://127.0.0.1:9/fhir",
        "context": context,
        "prefetch": prefetch_like_the_sandbox(templates, DEMO, context["patientId"]),
    }
    reply = http.post(f"{base}/cds-services/{service}", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _order_select(http, base: str, screen: PamaScreen) -> dict:
    response = _call(http, base, "flank-mass-imaging-order-select", "order-select", screen.context())
    screen.receive(response)
    return response


@pytest.mark.parametrize("reasons", [[], [RENAL_MASS]], ids=["no-reason", "with-reason"])
def test_the_mri_swap_applies_in_the_sandbox_and_the_ct_is_rated_appropriate(live, http, reasons):
    base = live()
    screen = PamaScreen("demo-adult", study=MRI, reasons=list(reasons))
    response = _order_select(http, base, screen)
    assert screen.rating == "not-appropriate"
    [card] = response["cards"]
    [suggestion] = card["suggestions"]
    screen.accept(card, suggestion)  # the old answer threw here without a reason, after "accepted" was posted
    assert screen.study["code"] == CT_BOTH and screen.rating == "appropriate"
    assert screen.reasons[: len(reasons)] == reasons and all(r.get("code") for r in screen.reasons)
    after = _order_select(http, base, screen)
    assert after["cards"] == [] and screen.rating == "appropriate"


def test_a_ct_missing_its_unenhanced_phase_becomes_the_two_phase_ct(live, http):
    base = live()
    screen = PamaScreen("demo-adult", study=CT_WITH)
    [card] = _order_select(http, base, screen)["cards"]
    screen.accept(card, card["suggestions"][0])
    assert screen.study["code"] == CT_BOTH
    assert _order_select(http, base, screen)["cards"] == [] and screen.rating == "appropriate"


def test_the_half_filled_draft_and_a_negative_patient_get_no_card(live, http):
    base = live()
    assert _order_select(http, base, PamaScreen("demo-adult"))["cards"] == []
    negative = PamaScreen("demo-negative", study=MRI)
    assert _order_select(http, base, negative)["cards"] == [] and negative.rating == "no-guidelines-apply"


def test_patient_view_offers_no_suggestion_the_sandbox_would_drop(live, http):
    """The Sandbox's patient-view screen drops every suggestion after posting "accepted": a
    suggestion there could only record an acceptance that never happened."""
    base = live()
    [card] = _call(
        http,
        base,
        "flank-mass-imaging-patient-view",
        "patient-view",
        {"patientId": "demo-adult", "userId": "Practitioner/example"},
    )["cards"]
    assert "suggestions" not in card and "CT abdomen without then with" in card["summary"]
    assert accept_on_patient_view(card, {"uuid": "x"})  # what it would have recorded


def test_the_sandbox_port_fails_the_way_the_sandbox_did():
    """The step the Sandbox takes, on the suggestion the old service returned for a draft without a
    reason: a text-only reasonCode is a TypeError, so the order stays MRI."""
    screen = PamaScreen("demo-adult", study=MRI)
    rating = {
        "url": "http://fhir.org/argonaut/Extension/pama-rating",
        "valueCodeableConcept": {"coding": [{"code": "appropriate"}]},
    }
    old = {"resourceType": "ServiceRequest", "code": {"coding": [{"code": CT_BOTH}]}, "reasonCode": [{"text": "mass"}]}
    suggestion = {"uuid": "s", "actions": [{"type": "update", "resource": {**old, "extension": [rating]}}]}
    with pytest.raises(SandboxTypeError):
        screen.accept({"uuid": "c"}, suggestion)
    assert screen.study == MRI and screen.feedback[0]["outcome"] == "accepted"


def _concepts(resource: dict) -> list[tuple[str, dict]]:
    found = []
    for name in CONCEPTS:
        value = resource.get(name)
        for item in value if isinstance(value, list) else [value] if value else []:
            found.append((name, item))
    for ext in resource.get("extension") or ():
        if "valueCodeableConcept" in ext:
            found.append((ext["url"], ext["valueCodeableConcept"]))
    return found


def _check_concepts(resource: dict, where: str, ours_only: bool = False) -> None:
    for name, concept in _concepts(resource):
        if ours_only and not name.startswith("http"):
            continue  # a rating update echoes the client's own draft unchanged; only its rating is ours
        coded = [c for c in concept.get("coding") or () if c.get("system") and c.get("code")]
        assert coded and concept.get("text"), f"{where}: {name} {concept}"


def _drafts_with(reason_codes) -> dict:
    """adult-left-coded-conclusion-mri with its draft's reasonCode replaced."""
    body = json.loads((CASES_DIR / "adult-left-coded-conclusion-mri.json").read_text())
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    if reason_codes is None:
        draft.pop("reasonCode", None)
    else:
        draft["reasonCode"] = reason_codes
    return body


def test_every_concept_we_write_is_coded_and_worded(live, http):
    base = live()
    index = json.loads((CASES_DIR / "index.json").read_text())["cases"]
    bodies = [(c["name"], c["service"], json.loads((CASES_DIR / c["file"]).read_text())) for c in index]
    select = "flank-mass-imaging-order-select"
    bodies += [
        ("no reason", select, _drafts_with(None)),
        ("text-only reason", select, _drafts_with([{"text": "lump in left flank"}])),
        ("coded reason without text", select, _drafts_with([{"coding": [RENAL_MASS]}])),
    ]
    checked = 0
    for name, service, body in bodies:
        response = http.post(f"{base}/cds-services/{service}", json=body, timeout=10).json()
        for card in response.get("cards", ()):
            for suggestion in card.get("suggestions", ()):
                for action in suggestion["actions"]:
                    if "resource" in action:
                        _check_concepts(action["resource"], f"{name}: suggestion")
                        checked += 1
        for action in response.get("systemActions", []) + (response.get("extension") or {}).get("systemActions", []):
            _check_concepts(action["resource"], f"{name}: system action", ours_only=True)
    assert checked >= 10


def test_a_reason_given_only_in_words_moves_to_the_note(live, http):
    base = live()
    body = _drafts_with([{"text": "lump in left flank"}])
    [card] = http.post(f"{base}/cds-services/flank-mass-imaging-order-select", json=body, timeout=10).json()["cards"]
    resource = card["suggestions"][0]["actions"][0]["resource"]
    assert all(r["coding"] for r in resource["reasonCode"])
    assert any("lump in left flank" in n["text"] for n in resource["note"])
