"""Ultrasound of the flank region and the calcification it showed.

An ultrasound counts when it is of the abdomen/flank/kidney/retroperitoneum (procedure code,
series body site, wording) or is linked to the mass (reasonReference, Condition.evidence.detail,
or a report in the mass's evidence that points at the study). An ultrasound of another region
(thyroid, breast, ...) never counts, even if it mentions calcification; a report whose title
names no region ("ULTRASOUND", "SONO") is kept for its narrative to place the mass. Coded
calcification is found here (conclusionCode, linked Observations at the flank region, study
text, the mass's own evidence); a coded "absent" outranks the narrative, which is read in
clinical/reports.py because there the calcium must be tied to the mass.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import concept_text, ref_keys
from .knowledge import Knowledge
from .reading.document import Document, kind_codes, study_modalities
from .select import MAX_FINDINGS, MAX_IMAGING, validated
from .studies import series_side, series_sites, study_text

DEAD = ("cancelled", "entered-in-error")  # a tuple: a malformed (list) status must not raise
NOT_DONE = ("registered", "cancelled", "entered-in-error")  # an ImagingStudy in these states was not performed


@dataclass
class Finding:
    kind: str  # ultrasound-study | ultrasound-report | calcification | ct | mr
    ref: str
    date: str | None = None
    how: str | None = None  # calcification only: a key of fragments.calcificationHow
    label: str | None = None  # the study or report's title, or what the finding is
    side: str | None = None
    quote: str | None = None  # the report sentence that states it


def newest_first(findings: list[Finding]) -> list[Finding]:
    """The newest qualifying finding is the one cited first (undated ones last)."""
    return sorted(findings, key=lambda f: f.date or "", reverse=True)


def _in_region(kb: Knowledge, coded: bool, linked: bool, text: str, unplaced_ok: bool = False) -> bool:
    """Coded or linked to the mass, or its words name the region and no other one. A report whose
    title names no region at all ("ULTRASOUND", "SONO") is read too when `unplaced_ok`: its
    narrative then has to place the mass (clinical/reports.py)."""
    if coded or linked:
        return True
    if kb.concepts["other-region"].found(text):
        return False
    return unplaced_ok or kb.concepts["site"].found(text)


def _best_first(candidates: list[tuple]) -> list[dict]:
    """Linked to the mass first, then the newest: those are validated, up to the cap."""
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    return [c[2] for c in candidates]


def find_ultrasounds(
    record, kb: Knowledge, masses, docs: list[Document]
) -> tuple[dict[str, dict], dict[str, Document]]:
    """Qualifying US studies ('ImagingStudy/x' -> study) and US reports ('Type/id' -> Document)."""
    mass_refs = {m.ref for m in masses}
    linked = set().union(*(m.evidence_refs for m in masses)) if masses else set()
    for doc in docs:
        if doc.ref in linked:
            linked |= {k for k in doc.study if k.startswith("ImagingStudy/")}
    us_codes, sites = kb.value_set("ultrasound-region-procedure"), kb.value_set("mass-site")
    us_studies = {ref for ref, names in study_modalities(record, kb).items() if "us" in names}
    candidates = []
    for study in record.of_type("ImagingStudy"):
        ref = f"ImagingStudy/{study.get('id')}"
        if study.get("status") in NOT_DONE or ref not in us_studies:
            continue
        coded = us_codes.first(study.get("procedureCode") or []) is not None or any(
            sites.first(s) for s in series_sites(study)
        )
        is_linked = ref in linked or bool(ref_keys(study.get("reasonReference")) & mass_refs)
        if _in_region(kb, coded, is_linked, study_text(study)) and not obstetric(kb, study.get("procedureCode") or []):
            candidates.append((is_linked, study.get("started") or "", study))
    studies = {f"ImagingStudy/{s.get('id')}": s for s in validated(record, _best_first(candidates), MAX_IMAGING)}
    fetal = {  # obstetric studies: a report of one is about the fetus, whatever its own code says
        f"ImagingStudy/{s.get('id')}"
        for s in record.of_type("ImagingStudy")
        if obstetric(kb, s.get("procedureCode") or []) or obstetric_title(kb, study_text(s))
    }
    study_refs, candidates = set(studies), []
    for doc in docs:
        if doc.modality != "us" or doc.study & fetal or _obstetric_document(kb, doc):
            continue
        via_study = bool(doc.study & study_refs)
        coded = any(us_codes.first(c) for c in kind_codes(doc.resource) if c)
        if _in_region(kb, coded or via_study, doc.ref in linked, doc.title, unplaced_ok=True):
            candidates.append((doc.ref in linked or via_study, doc.date, doc))
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    valid = validated(record, (c[2].resource for c in candidates), MAX_IMAGING)
    kept = {id(r) for r in valid}
    reports = {c[2].ref: c[2] for c in candidates if id(c[2].resource) in kept}
    return studies, reports


def _obstetric_document(kb: Knowledge, doc: Document) -> bool:
    """An obstetric report by its codes, its title or the exam its text names."""
    return obstetric(kb, *kind_codes(doc.resource)) or obstetric_title(kb, doc.title) or obstetric_title(kb, doc.exam)


def obstetric_title(kb: Knowledge, text: str) -> bool:
    """A title that names an obstetric exam, or a pregnancy and none of the mother's own organs:
    'US 2ND TRIMESTER' is the fetus's study, 'US RENAL IN PREGNANCY' the mother's kidneys."""
    concepts = kb.concepts
    if concepts["obstetric"].found(text):
        return True
    return concepts["pregnancy-words"].found(text) and not concepts["site"].found(text)


def obstetric(kb: Knowledge, *concepts) -> bool:
    """An obstetric ultrasound (its code): it is about the fetus, never the mother's flank mass."""
    return any(kb.value_set("obstetric-ultrasound").first(c) for c in concepts if c)


def _observation_coded(obs: dict, kb: Knowledge) -> bool:
    calc, present = kb.value_set("calcification"), kb.value_set("present")
    value = obs.get("valueCodeableConcept")
    if calc.first(obs.get("code")) and (obs.get("valueBoolean") is True or present.first(value)):
        return True
    if calc.first(value):
        return True
    for comp in obs.get("component") or ():
        cvalue = (comp or {}).get("valueCodeableConcept")
        if calc.first(cvalue):
            return True
        if calc.first((comp or {}).get("code")) and (comp.get("valueBoolean") is True or present.first(cvalue)):
            return True
    return False


def _observation_absent(obs: dict, kb: Knowledge) -> bool:
    """The Observation codes calcification as absent (code + 'absent' / false, or a 'non-calcified' value)."""
    calc, absent, none = kb.value_set("calcification"), kb.value_set("absent"), kb.value_set("calcification-absent")
    for part in (obs, *(c for c in obs.get("component") or () if isinstance(c, dict))):
        # the Observation itself, or a component ("Calcification: Absent" inside a finding)
        value = part.get("valueCodeableConcept")
        if none.first(value):
            return True
        if calc.first(part.get("code")) and (part.get("valueBoolean") is False or absent.first(value)):
            return True
    return False


def _elsewhere(obs: dict, kb: Knowledge) -> bool:
    """A body site that is not the flank region (an aortic wall calcification is not the mass's)."""
    site = obs.get("bodySite")
    if not site:
        return False
    return kb.value_set("mass-site").first(site) is None and not kb.concepts["flank-site"].found(concept_text(site))


def _linked(obs: dict, results: set[str], targets: set[str]) -> bool:
    """Is this Observation about one of the qualifying ultrasounds? (cheap: most are not)"""
    derived, part_of = obs.get("derivedFrom"), obs.get("partOf")
    if results and f"Observation/{obs.get('id')}" in results:
        return True
    if not derived and not part_of:
        return False
    return bool((ref_keys(derived) | ref_keys(part_of)) & targets)


def _observation_text(obs: dict) -> str:
    parts = [
        obs.get("valueString"),
        (obs.get("valueCodeableConcept") or {}).get("text"),
        (obs.get("code") or {}).get("text"),
    ]
    parts += [(n or {}).get("text") for n in obs.get("note") or ()]
    parts += [(c or {}).get("valueString") for c in obs.get("component") or ()]
    return " . ".join(p for p in parts if isinstance(p, str) and p)


def _calcium_words(kb: Knowledge, text: str) -> bool:
    """A short label affirms calcification that is not another structure's (stones, vessels, nodes)."""
    return bool(text) and kb.reader.calcium_of_a_mass(text)


def find_calcification(
    record, kb: Knowledge, masses, studies: dict, reports: dict[str, Document]
) -> tuple[list[Finding], set[str]]:
    """Calcification from codes, linked Observations and study descriptions, and the refs of coded
    statements that it is absent (which outrank the narrative). Report narratives are read
    separately (clinical/reports.py) because there it must be tied to the mass."""
    calc_codes, none = kb.value_set("calcification"), kb.value_set("calcification-absent")
    found: list[Finding] = []
    ruled_out: set[str] = set()
    for ref, study in studies.items():
        if _calcium_words(kb, study_text(study)):
            found.append(
                Finding("calcification", ref, study.get("started"), how="study-text", label=study_label(study))
            )
    for ref, doc in reports.items():
        report = doc.resource
        if any(calc_codes.first(c) for c in report.get("conclusionCode") or ()):
            found.append(Finding("calcification", ref, doc.date or None, how="report-code", label=doc.title))
        elif any(none.first(c) for c in report.get("conclusionCode") or ()):
            ruled_out.add(ref)
    targets = set(studies) | set(reports)
    results = set().union(*(ref_keys(d.resource.get("result")) for d in reports.values())) if reports else set()
    if targets:
        for obs in record.of_type("Observation"):
            if len(found) >= MAX_FINDINGS:
                break
            if not _linked(obs, results, targets) or obs.get("status") in DEAD or _elsewhere(obs, kb):
                continue
            if _observation_absent(obs, kb):
                ruled_out.add(f"Observation/{obs.get('id')}")
                continue
            how = (
                "observation-code"
                if _observation_coded(obs, kb)
                else "observation-text"
                if _calcium_words(kb, _observation_text(obs))
                else None
            )
            if how and record.valid(obs):
                found.append(
                    Finding(
                        "calcification",
                        f"Observation/{obs.get('id')}",
                        obs.get("effectiveDateTime") or obs.get("issued"),
                        how=how,
                        label=concept_text(obs.get("code")) or None,
                    )
                )
        for mass in masses:
            if mass.calcification_coded:
                found.append(Finding("calcification", mass.ref, mass.date, how="condition-evidence"))
    return found, ruled_out


def us_findings(studies: dict, reports: dict[str, Document], kb: Knowledge) -> list[Finding]:
    items = [
        Finding("ultrasound-study", ref, s.get("started"), label=study_label(s), side=series_side(s, kb))
        for ref, s in studies.items()
    ]
    items += [Finding("ultrasound-report", ref, d.date or None, label=d.title or None) for ref, d in reports.items()]
    return items


def study_label(study: dict) -> str | None:
    return study.get("description") or concept_text(study.get("procedureCode") or []) or None
