"""Stage 5b: who the patient is today, and what patient safety adds to the evidence just gathered.

Age is judged against the runtime's clock here (the chart search is remembered across calls and
must not hold a date): the site's pediatric cut-off gives the patient group and its newborn bound
the newborn pathway. For a positive chart (a CT can be suggested) the contrast safety findings are
read: kidney function, a contrast allergy or prior reaction, pregnancy (clinical.contrast), and
what the chart should show but does not (no recent kidney function with a risk factor; pregnancy
status unknown when the site asks). Kept apart from the evidence stage so the chart search stays
one concern and this one stays small.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..clinical import contrast
from ..clinical.workup import PEDIATRIC_BELOW, age_days, age_years, is_pediatric
from .exchange import Exchange
from .parse import resources_of

RESULT_KEYS = ("renalLabs", "pregnancy")  # the prefetch keys that carry the results read here


def _results(exchange: Exchange) -> list[dict] | None:
    """The Observations delivered under the result keys that survived parsing (this patient's),
    so a chart of thousands of other observations is not scanned; None: look at all of them."""
    keys = [key for key in RESULT_KEYS if key in exchange.service.prefetch]
    if not keys:
        return None
    kept = {id(obs) for obs in exchange.record.of_type("Observation")}
    return [r for key in keys for r in resources_of(exchange.prefetch.get(key)) if id(r) in kept]


def run(exchange: Exchange, runtime) -> None:
    evidence, site, kb = exchange.evidence, exchange.site, runtime.knowledge
    if evidence is None or exchange.record is None:
        return
    now = datetime.fromtimestamp(runtime.clock(), UTC)
    patient = exchange.record.patient
    evidence.age = age_years(patient, now.date())
    evidence.pediatric = is_pediatric(evidence.age, site.pediatric_below if site is not None else PEDIATRIC_BELOW)
    evidence.age_days = age_days(patient, now.date())
    bound = site.neonate_below_days(kb) if site is not None else kb.rules["neonateBelowDays"]
    evidence.neonate_below = bound
    evidence.neonate = evidence.age_days is not None and evidence.age_days < bound
    if not evidence.positive:
        return
    evidence.limits = site.limits(kb) if site is not None else contrast.Limits()
    unavailable = exchange.notes.get("unavailable", ())
    evidence.safety = contrast.assess(
        exchange.record, kb, evidence, evidence.limits, now, _results(exchange), unavailable
    )
    concerns = evidence.safety.concerns + evidence.safety.gaps
    if concerns:
        exchange.notes["contrastSafety"] = concerns
