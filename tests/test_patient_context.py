"""The advice fits the patient (issue 23), end to end over HTTP with a fixed clock: pregnancy
(points 1), newborns either side of the age bound and a site's own bound (point 3), and what the
chart does not show: no kidney function result with an ACR risk factor, pregnancy status unknown
when the site asks (point 4)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.safety import LOINC, SCT, SELECT, SIGN, lab, positive, pregnancy_status, searchset

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
VIEW = "flank-mass-imaging-patient-view"
CPT = "http://www.ama-assn.org/go/cpt"
NO_RESULT = "no eGFR or creatinine in the last 90 days"
UNKNOWN = "Pregnancy status: not recorded in the last 30 days"


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def serve(live_app, tmp_path):
    """(site file dict or None) -> base URL of the app judged at NOW."""

    def start(site: dict | None = None) -> str:
        env = {}
        if site is not None:
            path = tmp_path / "site.json"
            path.write_text(json.dumps(site))
            env["CDS_SITE_CONFIG"] = str(path)
        url, runtime = live_app(env)
        runtime.clock = NOW.timestamp
        return url

    return start


def call(http, url, body, service=SELECT):
    response = http.post(f"{url}/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def verdicts(answer) -> dict[str, str]:
    found = {}
    for action in answer.get("systemActions", ()):
        for ext in action["resource"].get("extension", ()):
            if ext["url"].endswith("pama-rating"):
                found[action["resource"]["id"]] = ext["valueCodeableConcept"]["coding"][0]["code"]
    return found


def with_draft(body, code: str, text: str) -> dict:
    body = copy.deepcopy(body)
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["code"] = {"coding": [{"system": CPT, "code": code}], "text": text}
    return body


def as_patient(body, birth: str, gender: str = "female") -> dict:
    body["prefetch"]["patient"]["birthDate"], body["prefetch"]["patient"]["gender"] = birth, gender
    return body


def pregnant(body) -> dict:
    as_patient(body, "1993-01-01")
    body["prefetch"]["pregnancy"] = searchset(pregnancy_status("p-1", (LOINC, "LA15173-0"), ago(40)))
    return body


def patient_view(body) -> dict:
    body = copy.deepcopy(body)
    body["hook"] = "patient-view"
    body["context"].pop("draftOrders")
    body["context"].pop("selections", None)
    return body


# -- point 1: pregnancy ---------------------------------------------------------------------------


def test_pregnant_mri_without_contrast_is_not_swapped_for_ct_and_is_rated_appropriate(serve, http):
    answer = call(http, serve(), with_draft(pregnant(positive()), "74181", "MRI abdomen without contrast"))
    [card] = answer["cards"]
    assert "suggestions" not in card and card["indicator"] == "info"
    assert "Pregnancy changes the usual pathway" in card["detail"] and "Agree the test with radiology" in card["detail"]
    assert "consider ultrasound or MRI without contrast first" not in card["detail"]
    assert verdicts(answer) == {"sr-mri": "appropriate"}


def test_pregnant_mri_with_gadolinium_and_ct_are_referred_to_radiology_not_rated_appropriate(serve, http):
    url = serve()
    mri = call(http, url, pregnant(positive()))  # the fixture's MRI without then with contrast
    [card] = mri["cards"]
    assert card["indicator"] == "warning" and "suggestions" not in card and "gadolinium" in card["summary"]
    assert verdicts(mri) == {"sr-mri": "no-criteria-apply"}
    ct = call(http, url, with_draft(pregnant(positive()), "74170", "CT abdomen without then with contrast"))
    [card] = ct["cards"]
    assert "fetus" in card["summary"] and "suggestions" not in card
    assert card["detail"].startswith("**Contrast safety") and "Pregnancy recorded" in card["detail"]
    assert "The CT is still suggested" not in card["detail"]
    assert verdicts(ct) == {"sr-mri": "no-criteria-apply"}  # the draft keeps the fixture's id


def test_biopsy_first_still_warns_in_pregnancy_critical_on_sign(serve, http):
    body = with_draft(pregnant(positive()), "49180", "Biopsy retroperitoneal mass")
    body["hook"] = "order-sign"
    body["context"].pop("selections")
    [card] = call(http, serve(), body, SIGN)["cards"]
    assert card["indicator"] == "critical" and "suggestions" not in card
    assert "before any biopsy" in card["detail"]


# -- point 3: newborns ----------------------------------------------------------------------------


@pytest.mark.parametrize("days,newborn", [(0, True), (27, True), (28, False), (45, False)])
def test_newborn_bound_is_28_days_by_default(serve, http, days, newborn):
    body = patient_view(as_patient(positive(), (NOW - timedelta(days=days)).date().isoformat(), "male"))
    [card] = call(http, serve(), body, VIEW)["cards"]
    assert "suggestions" not in card  # patient-view names the next step; it offers no order
    assert ("follow it with ultrasound first" in card["summary"]) is newborn
    assert ("next test is CT abdomen" in card["summary"]) is not newborn
    if not newborn:
        assert "dose-optimised" in card["detail"]  # the pediatric card with its dose note


def test_a_site_sets_its_own_newborn_bound(serve, http):
    body = patient_view(as_patient(positive(), (NOW - timedelta(days=45)).date().isoformat(), "male"))
    [card] = call(http, serve({"neonateAgeBelowDays": 60}), body, VIEW)["cards"]
    assert "Age: 45 days" in card["detail"] and "below 60 days" in card["detail"] and "suggestions" not in card


def test_newborn_mri_is_neither_warned_nor_swapped(serve, http):
    body = as_patient(positive(), (NOW - timedelta(days=5)).date().isoformat(), "male")
    answer = call(http, serve(), body)
    [card] = answer["cards"]
    assert card["indicator"] == "info" and "suggestions" not in card
    assert verdicts(answer) == {"sr-mri": "no-criteria-apply"}


# -- point 4: what the chart does not show ------------------------------------------------------


@pytest.mark.parametrize(
    "birth,condition,medication,factor",
    [
        ("1955-01-01", None, None, "age 71"),
        ("1980-01-01", {"system": SCT, "code": "44054006"}, None, "diabetes (Condition/risk-1)"),
        ("1980-01-01", {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N183"}, None, "kidney disease"),
        ("1980-01-01", {"text": "Essential hypertension"}, None, "treated hypertension (Condition/risk-1)"),
        ("1980-01-01", None, {"text": "Janumet 50-1000 mg tablet"}, "metformin (MedicationRequest/med-1)"),
    ],
)
def test_no_kidney_function_with_a_risk_factor_is_said(serve, http, birth, condition, medication, factor):
    body = as_patient(positive(), birth, "male")
    if condition:
        body["prefetch"]["conditions"]["entry"].append(
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "risk-1",
                    "subject": {"reference": "Patient/pat-a1"},
                    "code": condition if "text" in condition else {"coding": [condition]},
                }
            }
        )
    if medication:
        body["prefetch"]["medications"] = searchset(
            {
                "resourceType": "MedicationRequest",
                "id": "med-1",
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/pat-a1"},
                "medicationCodeableConcept": medication,
            }
        )
    [card] = call(http, serve(), body)["cards"]
    note = " ".join(n["text"] for n in card["suggestions"][0]["actions"][0]["resource"]["note"])
    assert NO_RESULT in card["detail"] and factor in card["detail"]
    assert NO_RESULT in note and factor in note


@pytest.mark.parametrize(
    "change",
    ["no-factor", "recent-egfr", "stopped-metformin", "labs-unobtainable", "family-history", "insipidus"],
)
def test_no_gap_line_without_a_factor_or_with_a_result(serve, http, change):
    body = as_patient(positive(), "1980-01-01", "male")
    conditions = body["prefetch"]["conditions"]["entry"]
    if change == "recent-egfr":
        as_patient(body, "1950-01-01", "male")
        body["prefetch"]["renalLabs"] = searchset(lab("e-1", "98979-8", 70, "mL/min/{1.73_m2}", ago(20)))
    elif change == "stopped-metformin":
        body["prefetch"]["medications"] = searchset(
            {
                "resourceType": "MedicationRequest",
                "id": "med-1",
                "status": "stopped",
                "intent": "order",
                "subject": {"reference": "Patient/pat-a1"},
                "medicationCodeableConcept": {"text": "metformin 500 mg"},
            }
        )
    elif change == "labs-unobtainable":
        as_patient(body, "1950-01-01", "male")
        del body["prefetch"]["renalLabs"]  # said once, as could-not-be-checked, not as a gap
    elif change in ("family-history", "insipidus"):
        text = "Family history of diabetes mellitus" if change == "family-history" else "Diabetes insipidus"
        conditions.append(
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c-x",
                    "subject": {"reference": "Patient/pat-a1"},
                    "code": {"text": text},
                }
            }
        )
    [card] = call(http, serve(), body)["cards"]
    assert NO_RESULT not in card["detail"]
    if change == "labs-unobtainable":
        assert "Could not be checked:** kidney function" in card["detail"]


@pytest.mark.parametrize(
    "birth,gender,status_days,asked,said",
    [
        ("1996-01-01", "female", None, True, True),
        ("1996-01-01", "unknown", None, True, True),
        ("1996-01-01", "female", 45, True, True),  # older than the site's 30 days
        ("1996-01-01", "female", 10, True, False),
        ("1996-01-01", "male", None, True, False),
        ("1960-01-01", "female", None, True, False),  # outside 12-50
        ("1996-01-01", "female", None, False, False),  # the site does not ask (the default)
    ],
)
def test_pregnancy_status_unknown_only_when_the_site_asks(serve, http, birth, gender, status_days, asked, said):
    body = as_patient(positive(), birth, gender)
    if status_days is not None:
        body["prefetch"]["pregnancy"] = searchset(pregnancy_status("p-1", (LOINC, "LA26683-5"), ago(status_days)))
    site = {"contrast": {"pregnancyStatus": {"fromAge": 12, "toAge": 50}}} if asked else None
    [card] = call(http, serve(site), body)["cards"]
    note = " ".join(n["text"] for n in card["suggestions"][0]["actions"][0]["resource"]["note"])
    assert (UNKNOWN in card["detail"]) is said and (UNKNOWN in note) is said


def test_a_site_range_upside_down_is_refused_at_start(make_app, tmp_path):
    from cds_service.content import ContentError

    path = tmp_path / "site.json"
    path.write_text(json.dumps({"contrast": {"pregnancyStatus": {"fromAge": 50, "toAge": 12}}}))
    with pytest.raises(ContentError, match="contrast/pregnancyStatus"):
        make_app({"CDS_SITE_CONFIG": str(path)})
