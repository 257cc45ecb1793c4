"""What the chart records that calls for a recent kidney function result before IV iodinated
contrast: the ACR Manual on Contrast Media's screening list (age over 60, kidney disease,
diabetes, treated hypertension, metformin), as data in hooks/knowledge/contrast.json.

Only asked when no eGFR or creatinine falls in the lab window: then a card that suggests a
contrast CT says the result is missing *and* why it matters for this patient, instead of saying
nothing. A factor is named with the record it comes from, so the clinician can check it.
"""

from __future__ import annotations

from .codes import codings, concept_text
from .masses import is_live

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
MAX_SCANNED = 2000  # Conditions or MedicationRequests looked at per request (bounded work)
LIVE_MEDICATION = ("active", "on-hold")


def _icd_prefix(kb, value, prefixes: list[str]) -> bool:
    """An ICD-10-CM coding in one of the categories ('E11' takes E11.9 and E119 alike)."""
    if not prefixes:
        return False
    bare = tuple(p.replace(".", "") for p in prefixes)
    for coding in codings(value):
        key = kb.key(coding)
        if key is not None and key[0] == ICD10CM and key[1].replace(".", "").upper().startswith(bare):
            return True
    return False


def _matches(kb, name: str, spec: dict, concept) -> bool:
    if kb.value_set(f"kidney-risk/{name}").first(concept) is not None:
        return True
    if _icd_prefix(kb, concept, spec.get("icd10cmPrefixes") or []):
        return True
    return kb.concepts[f"kidney-risk/{name}"].found(concept_text(concept))


def _conditions(record, kb, found: dict[str, str]) -> None:
    specs = kb.contrast["kidneyRisk"]["conditions"]
    for condition in record.of_type("Condition")[:MAX_SCANNED]:
        code = condition.get("code")
        if not isinstance(code, dict) or not is_live(condition):
            continue
        for name, spec in specs.items():
            if name not in found and _matches(kb, name, spec, code) and record.valid(condition):
                found[name] = f"Condition/{condition.get('id')}"


def _medications(record, kb, found: dict[str, str]) -> None:
    specs = kb.contrast["kidneyRisk"]["medications"]
    for request in record.of_type("MedicationRequest")[:MAX_SCANNED]:
        if request.get("status") not in LIVE_MEDICATION:
            continue
        reference = request.get("medicationReference")
        concept = request.get("medicationCodeableConcept") or (
            {"text": reference.get("display")} if isinstance(reference, dict) else None
        )
        if not isinstance(concept, dict):
            continue
        for name, spec in specs.items():
            if name not in found and _matches(kb, name, spec, concept) and record.valid(request):
                found[name] = f"MedicationRequest/{request.get('id')}"


def risk_factors(record, kb, age: int | None) -> list[str]:
    """The risk factors the chart records, each worded with its source: 'age 67', 'diabetes
    (Condition/c1)', 'metformin (MedicationRequest/m1)'; empty when none."""
    limit = kb.contrast["kidneyRisk"]["ageAbove"]
    factors = [f"age {age}"] if age is not None and age > limit else []
    found: dict[str, str] = {}
    _conditions(record, kb, found)
    _medications(record, kb, found)
    return factors + [f"{name} ({ref})" for name, ref in found.items()]
