"""Chart resources for the contrast-safety and site tests: labs, allergies, pregnancy records,
added to a positive fixture case (adult, MRI selected first: the card suggests the CT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.cases import case_request

LOINC, SCT = "http://loinc.org", "http://snomed.info/sct"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SELECT = "flank-mass-imaging-order-select"
SIGN = "flank-mass-imaging-order-sign"
POSITIVE = "adult-left-coded-conclusion-mri.json"  # patient pat-a1, male, born 1968
SIGN_CASE = "adult-order-sign-mri-and-biopsy.json"  # patient pat-a21: MRI and biopsy drafts


def days_ago(days: float, now: datetime | None = None) -> str:
    return ((now or datetime.now(UTC)) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def searchset(*resources) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def lab(
    oid: str,
    code: str,
    value: float,
    unit: str,
    when: str,
    pid: str = "pat-a1",
    interpretation: str | None = None,
    comparator: str | None = None,
) -> dict:
    quantity = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    if comparator:
        quantity["comparator"] = comparator
    resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": quantity,
    }
    if interpretation:
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": interpretation}]}]
    return resource


def pregnancy_status(oid: str, answer: tuple[str, str], when: str, pid: str = "pat-a1", code: str = "82810-3") -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueCodeableConcept": {"coding": [{"system": answer[0], "code": answer[1]}]},
    }


def allergy(
    aid: str,
    code: dict,
    pid: str = "pat-a1",
    verification: str = "confirmed",
    reaction_substance: dict | None = None,
    recorded: str = "2024-02-03",
) -> dict:
    resource = {
        "resourceType": "AllergyIntolerance",
        "id": aid,
        "patient": {"reference": f"Patient/{pid}"},
        "code": code,
        "recordedDate": recorded,
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "code": verification,
                }
            ]
        },
    }
    if reaction_substance:
        resource["reaction"] = [{"substance": reaction_substance, "manifestation": [{"text": "hives"}]}]
    return resource


def positive(name: str = POSITIVE, **keys) -> dict:
    """The fixture case with every optional key answered ('no data' unless given)."""
    body = case_request(name)
    for key in ("renalLabs", "pregnancy", "documentReferences", "medications"):
        body["prefetch"][key] = keys.get(key)
    if "allergies" in keys:
        body["prefetch"]["allergies"] = keys["allergies"]
    return body
