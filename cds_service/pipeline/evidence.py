"""Stage 5: what the chart shows about a flank mass with calcification on ultrasound.

Everything is selected from the plain prefetch dicts first; only the few candidate resources are
validated as R4 models (record.valid), so a 10,000-resource prefetch stays cheap. The search
stops early when there is no mass: nothing else can make a card then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..clinical.imaging import Finding, find_calcification, find_ultrasounds, newest_first, us_findings
from ..clinical.masses import Mass, closed_mass_dates, find_masses
from ..clinical.orders import classify_order, order_name
from ..clinical.reading.document import documents
from ..clinical.reports import calcified_in_reports, flank_site_reported, read_reports, report_masses, superseded
from ..clinical.select import MAX_IMAGING
from ..clinical.workup import (
    active_orders,
    age_years,
    contrast_allergies,
    cross_sectional_done,
    is_pediatric,
    orders_in_force,
)
from . import evidence_memo
from .exchange import Exchange

DRAFT_SLACK = 10  # placed orders kept beyond MAX_IMAGING per modality, for drafts listed as active too


@dataclass
class Evidence:
    age: int | None = None
    pediatric: bool = False
    neonate: bool = False  # younger than the site's neonate bound (set by the safety stage, on its clock)
    age_days: int | None = None
    neonate_below: int | None = None  # the newborn bound in days the safety stage judged with
    masses: list[Mass] = field(default_factory=list)
    ultrasounds: list[Finding] = field(default_factory=list)
    calcifications: list[Finding] = field(default_factory=list)
    cross_sectional: list[Finding] = field(default_factory=list)
    ct_orders: list[str] = field(default_factory=list)  # active CT orders, and concordant CT drafts
    order_names: dict[str, str] = field(default_factory=dict)  # order ref -> its name, for the card
    placed: dict[str, list[str]] = field(default_factory=dict)  # active orders in the chart, drafts not yet told apart
    contrast_allergies: list[str] = field(default_factory=list)
    safety: Any = None  # clinical.contrast.Safety, set by the safety stage for a positive chart
    limits: Any = None  # clinical.contrast.Limits the safety findings were judged with
    superseded: list[tuple[str, str]] = field(default_factory=list)  # (finding ref, later report saying no mass)
    narratives: int = 0  # report narratives read
    narratives_cut: int = 0  # of which analysed only in part (caps)

    @property
    def mass(self) -> Mass | None:
        return self.masses[0] if self.masses else None

    @property
    def positive(self) -> bool:
        return bool(self.masses and self.ultrasounds and self.calcifications)

    @property
    def side(self) -> str | None:
        """The side of the calcified mass: where the report that ties calcium to it places it (the
        problem list's side when no report says), so a card never calls the wrong mass calcified."""
        reported = next((f.side for f in self.calcifications if f.side), None)
        if reported:
            return reported
        if self.mass and self.mass.side:
            return self.mass.side
        return next((f.side for f in self.ultrasounds if f.side), None)

    @property
    def other_side_mass(self) -> Mass | None:
        """A problem-list mass on another side than the calcified one (the card says so)."""
        side = self.side
        return next(
            (
                m
                for m in self.masses
                if not m.from_report and m.side and side and m.side != side and side != "bilateral"
            ),
            None,
        )

    @property
    def pregnant(self) -> bool:
        """A pregnancy recorded in the chart (the safety stage reads it for a positive chart)."""
        return self.safety is not None and self.safety.pregnancy is not None

    @property
    def ct_done(self) -> bool:
        return any(f.kind == "ct" for f in self.cross_sectional)

    def flags(self) -> dict[str, bool]:
        """The chart state the rules in hooks/knowledge/rules.json are written against."""
        return {
            "ctDone": self.ct_done,
            "crossSectionalDone": bool(self.cross_sectional),
            "ctOrdered": bool(self.ct_orders),
            "pediatric": self.pediatric,
            "neonate": self.neonate,
            "pregnant": self.pregnant,
        }


def _stand_unless_superseded(evidence: Evidence, readings, mass: Mass) -> None:
    """A later study of the same region that reports no mass supersedes this one (cited, not used)."""
    later = superseded(readings, mass.side)
    if later:
        evidence.superseded.append((mass.ref, later))
    else:
        evidence.masses.append(mass)


def search_chart(record, kb, now: datetime) -> Evidence:
    """What the chart alone shows at `now`: nothing here reads this call's drafts, so the evidence
    memo can keep the result for every call of an ordering session, whatever is being ordered."""
    age = age_years(record.patient, now.date())
    evidence = Evidence(age=age, pediatric=is_pediatric(age))
    coded = find_masses(record, kb)
    docs = documents(record, kb, now)
    studies, reports = find_ultrasounds(record, kb, coded, docs)
    if not coded and not reports:
        return evidence
    # a quadrant-coded mass still needs a report that places it: read on until a flank-region one
    coded_mass = bool(coded) and not any(m.needs_site for m in coded)
    readings = read_reports(record, kb, reports, docs, coded_mass=coded_mass)
    evidence.narratives = len(readings)
    evidence.narratives_cut = sum(r.reading.truncated for r in readings)
    if not flank_site_reported(readings):
        coded = [m for m in coded if not m.needs_site]
    for mass in coded:
        _stand_unless_superseded(evidence, readings, mass)
    if not evidence.masses:
        # No standing Condition: the ultrasound report itself may describe the mass (problem lists
        # lag the report), unless the clinician closed it on or after the report's date.
        described = report_masses(readings)
        closed = closed_mass_dates(record, kb) if described else []
        for mass in described:
            if any(not when or when[:10] >= (mass.date or "")[:10] for when in closed):
                continue
            _stand_unless_superseded(evidence, readings, mass)
    if not evidence.masses:
        return evidence
    coded = [m for m in evidence.masses if not m.from_report]
    evidence.ultrasounds = newest_first(us_findings(studies, reports, kb))
    coded_calcium, ruled_out = find_calcification(record, kb, coded, studies, reports)
    # Trust order: a coded "no calcification" outranks what the narrative says about calcium.
    narrative = [] if ruled_out and not coded_calcium else calcified_in_reports(readings, coded_mass=bool(coded))
    evidence.calcifications = newest_first(coded_calcium + narrative)
    if not evidence.positive:
        return evidence
    evidence.cross_sectional = cross_sectional_done(record, kb, evidence.masses, docs)
    # room for drafts that an EHR also lists as active, which orders_in_force drops
    evidence.placed = active_orders(record, kb, limit=MAX_IMAGING + DRAFT_SLACK)
    evidence.order_names = {
        ref: order_name(record.find(ref) or {}) for refs in evidence.placed.values() for ref in refs
    }
    evidence.contrast_allergies = contrast_allergies(record, kb)
    return evidence


def add_drafts(evidence: Evidence, record, kb) -> Evidence:
    """The part of the evidence that depends on this call's drafts: orders already in force for a
    positive chart (placed ones that are not drafts, and drafts concordant with the suggestion)."""
    if evidence.positive:
        draft_refs = {f"{d.get('resourceType')}/{d.get('id')}" for d in record.drafts}
        concordant = [d for d in record.drafts if classify_order(d, kb) == kb.suggested_order["class"]]
        evidence.order_names = {
            **evidence.order_names,
            **{f"ServiceRequest/{d.get('id')}": order_name(d) for d in concordant},
        }
        concordant = [f"ServiceRequest/{d.get('id')}" for d in concordant]
        evidence.ct_orders = orders_in_force(evidence.placed.get("ct", []), draft_refs) + concordant
    return evidence


def gather(record, kb, now: datetime | None = None) -> Evidence:
    return add_drafts(search_chart(record, kb, now or datetime.now(UTC)), record, kb)


def run(exchange: Exchange, runtime) -> None:
    kb = runtime.knowledge
    if not exchange.chart_needed:
        exchange.evidence = Evidence()
        exchange.notes["evidence"] = "not needed"
        return
    record = exchange.record
    now = datetime.fromtimestamp(runtime.clock(), UTC)
    found, remembered = evidence_memo.recall(record, kb, now.date(), lambda: search_chart(record, kb, now))
    evidence = add_drafts(found, record, kb)
    exchange.evidence = evidence
    if record.invalid:
        exchange.notes["invalidR4"] = record.invalid
    exchange.notes["evidence"] = {
        "mass": bool(evidence.masses),
        "ultrasound": bool(evidence.ultrasounds),
        "calcification": bool(evidence.calcifications),
        "positive": evidence.positive,
        "narratives": evidence.narratives,
        "narrativesCut": evidence.narratives_cut,
        "superseded": len(evidence.superseded),
        "massFromReport": any(m.from_report for m in evidence.masses),
        "remembered": remembered,
    }
