"""Contrast safety on every suggested CT, end to end over HTTP: kidney function (eGFR codes,
creatinine with an estimate, the window, critical flags), contrast allergy (coded, worded,
refuted) and pregnancy (status Observation, Condition). The CT is always still suggested."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cds_service.clinical.contrast import ckd_epi_2021
from tests.support.safety import LOINC, SCT, SELECT, allergy, days_ago, lab, positive, pregnancy_status, searchset


def _card(http, url, body) -> dict:
    response = http.post(f"{url}/cds-services/{SELECT}", json=body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1 and cards[0]["suggestions"], "the CT must still be suggested"
    return cards[0]


def _order_notes(card) -> str:
    resource = card["suggestions"][0]["actions"][0]["resource"]
    return " ".join(n["text"] for n in resource["note"])


def _first_reason(card) -> str:
    return card["overrideReasons"][0]["code"]


@pytest.mark.parametrize("code", ["98979-8", "33914-3", "62238-1", "88294-4", "48642-3"])
def test_low_egfr_any_common_code_is_shown_with_value_date_and_meaning(live, http, code):
    when = days_ago(10)
    body = positive(renalLabs=searchset(lab("egfr-1", code, 24, "mL/min/{1.73_m2}", when)))
    card = _card(http, live(), body)
    assert f"eGFR 24 mL/min/{{1.73_m2}} on {when[:10]} (Observation/egfr-1)" in card["detail"]
    assert "contrast-associated acute kidney injury" in card["detail"]
    assert card["detail"].startswith("**Contrast safety")
    assert "Contrast safety for radiology" in _order_notes(card) and "eGFR 24" in _order_notes(card)
    assert _first_reason(card) == "contrast-kidney-risk-reviewed"


def test_normal_or_old_egfr_says_nothing(live, http):
    url = live()
    normal = _card(http, url, positive(renalLabs=searchset(lab("e1", "98979-8", 75, "mL/min/{1.73_m2}", days_ago(5)))))
    old_low = _card(
        http, url, positive(renalLabs=searchset(lab("e2", "98979-8", 20, "mL/min/{1.73_m2}", days_ago(200))))
    )
    for card in (normal, old_low):
        assert "Contrast safety" not in card["detail"] and "Contrast safety" not in _order_notes(card)
        assert _first_reason(card) != "contrast-kidney-risk-reviewed"


def test_newest_egfr_wins_and_a_greater_than_value_is_not_low(live, http):
    labs = searchset(
        lab("old", "98979-8", 22, "mL/min/{1.73_m2}", days_ago(40)),
        lab("new", "98979-8", 60, "mL/min/{1.73_m2}", days_ago(3), comparator=">"),
    )
    assert "Contrast safety" not in _card(http, live(), positive(renalLabs=labs))["detail"]


def test_egfr_flagged_critical_is_shown_even_above_the_threshold(live, http):
    labs = searchset(lab("crit", "98979-8", 35, "mL/min/{1.73_m2}", days_ago(1), interpretation="LL"))
    card = _card(http, live(), positive(renalLabs=labs))
    assert "flagged critical by the laboratory" in card["detail"]


def test_ckd_epi_2021_matches_the_published_equation():
    # Inker et al. 2021: a 50-year-old man with creatinine 1.0 mg/dL has an eGFR of about 92
    assert round(ckd_epi_2021(1.0, 50, female=False)) == 92
    assert ckd_epi_2021(1.0, 50, female=True) < ckd_epi_2021(1.0, 50, female=False)


@pytest.mark.parametrize("value,unit", [(3.1, "mg/dL"), (274.0, "umol/L")])
def test_creatinine_only_gives_an_estimate_for_an_adult(live, http, value, unit):
    body = positive(renalLabs=searchset(lab("cr", "2160-0", value, unit, days_ago(7))))
    card = _card(http, live(), body)
    age = datetime.now(UTC).year - 1968  # the patient's age this year or last (born 1968-04-12)
    high, low = (round(ckd_epi_2021(3.1, a, female=False)) for a in (age - 1, age))
    detail = card["detail"]
    assert f"serum creatinine {value:g} {unit}" in detail and "CKD-EPI 2021" in detail
    shown = int(detail.split("estimated eGFR ")[1].split(" ")[0])
    assert low - 1 <= shown <= high + 1 and shown < 30
    assert _first_reason(card) == "contrast-kidney-risk-reviewed"


def test_coded_contrast_allergy_without_words_and_reaction_substance(live, http):
    url = live()
    coded = allergy("a-coded", {"coding": [{"system": SCT, "code": "293637006"}]})
    by_reaction = allergy(
        "a-react", {"text": "Shellfish"}, reaction_substance={"coding": [{"system": SCT, "code": "385420005"}]}
    )
    for resource in (coded, by_reaction):
        card = _card(http, url, positive(allergies=searchset(resource)))
        assert f"AllergyIntolerance/{resource['id']}, 2024-02-03" in card["detail"]
        assert "premedication" in card["detail"] and "radiologist" in card["detail"]
        assert _first_reason(card) == "contrast-reaction-plan"
        assert "Contrast allergy recorded" in _order_notes(card)


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_or_erroneous_allergy_is_ignored(live, http, status):
    resource = allergy(
        "a-x", {"coding": [{"system": SCT, "code": "293637006"}], "text": "contrast media"}, verification=status
    )
    card = _card(http, live(), positive(allergies=searchset(resource)))
    assert "Contrast allergy recorded" not in card["detail"]


def _answer(http, url, body) -> list[dict]:
    response = http.post(f"{url}/cds-services/{SELECT}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def _pregnancy_card(cards) -> bool:
    """The pregnancy pathway's card: it names the record and suggests no CT."""
    return len(cards) == 1 and "suggestions" not in cards[0] and "Pregnancy recorded" in cards[0]["detail"]


def test_pregnancy_status_changes_the_pathway_and_a_newer_negative_status_clears_it(live, http):
    url = live()
    pregnant = pregnancy_status("p-1", (LOINC, "LA15173-0"), days_ago(20))
    cards = _answer(http, url, positive(pregnancy=searchset(pregnant)))
    assert _pregnancy_card(cards) and "gadolinium" in cards[0]["detail"]
    reported = pregnancy_status("p-2", (SCT, "77386006"), days_ago(5), code="11449-6")
    assert _pregnancy_card(_answer(http, url, positive(pregnancy=searchset(reported))))
    not_pregnant = pregnancy_status("p-3", (LOINC, "LA26683-5"), days_ago(2))
    card = _card(http, url, positive(pregnancy=searchset(pregnant, not_pregnant)))
    assert "Pregnancy recorded" not in card["detail"]


@pytest.mark.parametrize("clinical,expected", [("active", True), ("resolved", False)])
def test_pregnancy_condition(live, http, clinical, expected):
    body = positive()
    condition = {
        "resourceType": "Condition",
        "id": "preg-1",
        "subject": {"reference": "Patient/pat-a1"},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]
        },
        "code": {"coding": [{"system": SCT, "code": "77386006"}]},
        "recordedDate": "2026-09-01",
    }
    body["prefetch"]["conditions"]["entry"].append({"resource": condition})
    assert _pregnancy_card(_answer(http, live(), body)) is expected


def test_several_findings_each_shown_with_their_reason_first(live, http):
    body = positive(
        renalLabs=searchset(lab("e", "98979-8", 18, "mL/min/{1.73_m2}", days_ago(2))),
        allergies=searchset(allergy("a", {"text": "Iohexol (Omnipaque)"})),
    )
    card = _card(http, live(), body)
    codes = [r["code"] for r in card["overrideReasons"]]
    assert codes[:2] == ["contrast-reaction-plan", "contrast-kidney-risk-reviewed"]
    assert len(codes) == len(set(codes))


def test_renal_labs_that_cannot_be_fetched_are_named(live, http):
    body = positive()
    del body["prefetch"]["renalLabs"]
    card = _card(http, live(), body)
    assert "Could not be checked:** kidney function" in card["detail"]


def test_renal_labs_fetched_from_the_fhir_server(live, http, fhir):
    body = positive()
    del body["prefetch"]["renalLabs"]
    body["fhirServer"] = fhir.url
    body["fhirAuthorization"] = {"access_token": fhir.token, "token_type": "Bearer"}
    url = live()
    http.post(f"{url}/cds-services/{SELECT}", json=body)  # learn the exact search the service sends
    search = next(p for p in fhir.paths() if p.startswith("Observation?patient=pat-a1&code="))
    fhir.routes[search] = searchset(lab("fetched", "98979-8", 21, "mL/min/{1.73_m2}", days_ago(4)))
    card = _card(http, url, body)
    assert "Observation/fetched" in card["detail"] and "Could not be checked" not in card["detail"]
