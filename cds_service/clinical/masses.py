"""Finds the flank mass on the problem list, and its side.

A Condition counts when it is still live (not refuted, entered in error, resolved, inactive or
in remission), means a mass (code, or the words when it carries no matching code) and sits in
the flank/abdominal region (a finding code that implies the region, a body-site code, or the
words). Candidates are picked from the plain dicts; only they are validated as R4 models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .codes import codings, concept_text, ref_keys
from .knowledge import Knowledge
from .select import MAX_MASSES, validated

DEAD_CLINICAL = {"inactive", "resolved", "remission"}
DEAD_VERIFICATION = {"refuted", "entered-in-error"}


@dataclass
class Mass:
    resource: dict
    ref: str
    label: str
    side: str | None
    date: str | None
    calcification_coded: bool = False  # Condition.evidence.code says calcification
    evidence_refs: set[str] = field(default_factory=set)  # Condition.evidence.detail targets
    size_cm: float | None = None
    from_report: bool = False  # described in an ultrasound report, not on the problem list
    needs_site: bool = False  # a quadrant code: counts only with a flank-region site
    quote: str | None = None  # a report mass: the sentence that describes it
    source: str | None = None  # a report mass: the report's title


def status_codes(concept) -> set[str]:
    return {code for c in codings(concept) if isinstance(code := c.get("code"), str)}


def is_live(condition: dict) -> bool:
    if status_codes(condition.get("clinicalStatus")) & DEAD_CLINICAL:
        return False
    return not status_codes(condition.get("verificationStatus")) & DEAD_VERIFICATION


def side_of(kb: Knowledge, concepts: list, texts: list[str]) -> str | None:
    """Laterality from coded entries (finding/body site/laterality extensions), then from words."""
    sides: list[str] = []
    lat = kb.value_set("laterality")
    for concept in concepts:
        for coding in codings(concept):
            for name in ("mass-finding", "mass-site", "laterality"):
                entry = kb.value_set(name).lookup(coding)
                if entry and entry.get("side"):
                    sides.append(entry["side"])
        for item in concept if isinstance(concept, list) else [concept]:
            for ext in (item.get("extension") or ()) if isinstance(item, dict) else ():
                entry = lat.first(ext.get("valueCodeableConcept") or ext.get("valueCoding"))
                if entry:
                    sides.append(entry["side"])
    if not sides:
        for text in texts:
            for side in ("bilateral", "left", "right"):
                if kb.concepts[side].found(text):
                    sides.append(side)
    distinct = set(sides)
    if len(distinct) > 1:
        return "bilateral" if "bilateral" in distinct or {"left", "right"} <= distinct else sides[0]
    return sides[0] if sides else None


def _mass_candidate(kb: Knowledge, condition: dict) -> str | None:
    """'yes', 'needs-site' (a quadrant code with no flank-region site of its own) or None."""
    code, body = condition.get("code"), condition.get("bodySite")
    entry = kb.value_set("mass-finding").first(code)
    if entry is not None and entry.get("impliesSite"):
        return "yes"  # decided by the code alone: skip the text work
    code_text = concept_text(code)
    if entry is not None and entry.get("needsSite"):
        notes = " . ".join(
            text for n in condition.get("note") or () if isinstance(n, dict) and isinstance(text := n.get("text"), str)
        )
        if kb.value_set("mass-site").first(body) is not None or kb.concepts["flank-site"].found(
            code_text, concept_text(body), notes
        ):
            return "yes"
        return "needs-site"
    if entry is None and not kb.concepts["mass"].found(code_text):
        return None
    if kb.value_set("mass-site").first(body) is not None:
        return "yes"
    return "yes" if kb.concepts["site"].found(code_text, concept_text(body)) else None


def closed_mass_dates(record, kb: Knowledge) -> list[str]:
    """Dates ('' when undated) of region mass Conditions recorded as resolved, refuted, ...: the
    clinician's word that a mass described in an earlier or same-day report is not (or no longer) there."""
    dates = []
    for condition in record.of_type("Condition"):
        if not is_live(condition) and _mass_candidate(kb, condition) is not None:
            when = condition.get("abatementDateTime") or condition.get("recordedDate") or ""
            dates.append(when if isinstance(when, str) else "")
    return dates


def find_masses(record, kb: Knowledge) -> list[Mass]:
    calcification = kb.value_set("calcification")
    found = []
    for condition in record.of_type("Condition"):
        candidate = _mass_candidate(kb, condition)  # first: most problem-list entries are not masses
        if candidate is None or not is_live(condition):
            continue
        code, body = condition.get("code"), condition.get("bodySite") or []
        mass = Mass(
            resource=condition,
            ref=f"Condition/{condition.get('id')}",
            label=(code or {}).get("text") or concept_text(code) or "mass",
            side=side_of(kb, [code, body], [concept_text(code), concept_text(body)]),
            date=condition.get("recordedDate") or condition.get("onsetDateTime"),
            needs_site=candidate == "needs-site",
        )
        for evidence in condition.get("evidence") or ():
            if calcification.first(evidence.get("code")) is not None:
                mass.calcification_coded = True
            mass.evidence_refs |= ref_keys(evidence.get("detail"))
        found.append(mass)
    # The most informative first: a known side, then the most recent; only those are validated.
    found.sort(key=lambda m: (m.side is not None, m.date or ""), reverse=True)
    valid = {id(c) for c in validated(record, (m.resource for m in found), MAX_MASSES)}
    return [m for m in found if id(m.resource) in valid]
