"""Where the work-up stands, and the patient facts that change the wording.

Cross-sectional imaging already done (a CT/MR study of the region, or a final CT/MR report)
silences "CT first"; an active CT order stops a duplicate suggestion. A recorded iodinated
contrast allergy is surfaced on CT suggestions but never blocks them: the radiologist decides.
"""

from __future__ import annotations

from datetime import date

from .codes import concept_text, ref_keys
from .imaging import NOT_DONE, Finding, study_label
from .knowledge import Knowledge
from .masses import is_live
from .orders import OTHER, classify_concept, classify_order, modality_of
from .reading.document import Document, study_modalities
from .select import MAX_IMAGING
from .studies import series_sites, study_text

FINAL = ("final", "amended", "corrected", "appended")  # a tuple: a malformed status must not raise
PEDIATRIC_BELOW = 18


def cross_sectional_done(record, kb: Knowledge, masses, docs: list[Document]) -> list[Finding]:
    """CT or MR of the region done: a study that was performed (not only registered, cancelled or
    entered in error) or a final report (DiagnosticReport or DocumentReference)."""
    mass_refs = {m.ref for m in masses}
    sites = kb.value_set("mass-site")
    done: list[Finding] = []
    names = study_modalities(record, kb)
    for study in record.of_type("ImagingStudy"):
        if len(done) >= MAX_IMAGING:
            return done
        if study.get("status") in NOT_DONE:
            continue
        kinds = names.get(f"ImagingStudy/{study.get('id')}", set()) & {"ct", "mr"}
        if not kinds:
            continue
        order_class = classify_concept(study.get("procedureCode") or [], kb)
        if order_class == "biopsy":
            continue
        in_region = (
            order_class != OTHER
            or any(sites.first(s) for s in series_sites(study))
            or bool(ref_keys(study.get("reasonReference")) & mass_refs)
            or kb.concepts["site"].found(study_text(study))
        )
        if in_region and record.valid(study):
            done.append(
                Finding(
                    sorted(kinds)[0],
                    f"ImagingStudy/{study.get('id')}",
                    study.get("started"),
                    label=study_label(study),
                )
            )
    for doc in docs:
        if len(done) >= MAX_IMAGING:
            break
        if doc.modality in ("ct", "mr") and doc.status in FINAL and record.valid(doc.resource):
            done.append(Finding(doc.modality, doc.ref, doc.date or None, label=doc.title or None))
    return done


def active_orders(record, kb: Knowledge, limit: int = MAX_IMAGING) -> dict[str, list[str]]:
    """Active orders in the chart by modality: {'ct': [...refs], 'mr': [...]}, at most `limit` each.

    Drafts are not told apart here, so the result depends on the chart alone (the evidence memo
    keeps it across a session's calls); orders_in_force removes the ones that are this call's drafts."""
    found: dict[str, list[str]] = {"ct": [], "mr": []}
    for request in record.of_type("ServiceRequest"):
        if request.get("status") != "active":
            continue
        modality = modality_of(classify_order(request, kb), kb)
        if modality in found and len(found[modality]) < limit and record.valid(request):
            found[modality].append(f"ServiceRequest/{request.get('id')}")
    return found


def orders_in_force(placed: list[str], draft_refs: set[str]) -> list[str]:
    """The placed orders that are not one of this call's drafts (an EHR may list a draft as active)."""
    return [ref for ref in placed if ref not in draft_refs][:MAX_IMAGING]


def contrast_allergies(record, kb: Knowledge) -> list[str]:
    """Live allergies or prior reactions to contrast, coded (contrast.json) or by wording; each
    label says what, which record and when, because the card must show what was found."""
    concept = kb.concepts["contrast-allergy"]
    codes = kb.value_set("contrast/contrast-allergy")
    labels: list[str] = []
    for allergy in record.of_type("AllergyIntolerance"):
        if not is_live(allergy):
            continue
        substances = [(r or {}).get("substance") for r in allergy.get("reaction") or () if isinstance(r, dict)]
        texts = [concept_text(allergy.get("code"))] + [concept_text(s) for s in substances]
        coded = codes.first(allergy.get("code")) is not None or any(codes.first(s) for s in substances if s)
        if len(labels) < MAX_IMAGING and (coded or concept.found(*texts)) and record.valid(allergy):
            what = (allergy.get("code") or {}).get("text") or texts[0] or "contrast"
            when = allergy.get("recordedDate") or allergy.get("onsetDateTime") or allergy.get("lastOccurrence")
            labels.append(
                f"{what} (AllergyIntolerance/{allergy.get('id')}"
                + (f", {when[:10]})" if isinstance(when, str) else ")")
            )
    return labels


def age_years(patient: dict | None, today: date | None = None) -> int | None:
    raw = (patient or {}).get("birthDate")
    if not isinstance(raw, str) or len(raw) < 4 or not raw[:4].isdigit():
        return None
    parts = [int(p) for p in raw.split("-") if p.isdigit()]
    year, month, day = (parts + [1, 1])[:3]
    today = today or date.today()
    return today.year - year - ((today.month, today.day) < (month, day))


def age_days(patient: dict | None, today: date) -> int | None:
    """Days since birth; None unless the full birth date is recorded (a year or a month alone
    cannot place a newborn either side of a bound counted in days)."""
    raw = (patient or {}).get("birthDate")
    if not isinstance(raw, str) or len(raw) != 10:
        return None
    try:
        born = date.fromisoformat(raw)
    except ValueError:
        return None
    return (today - born).days


def is_pediatric(age: int | None, below: int = PEDIATRIC_BELOW) -> bool:
    return age is not None and age < below
