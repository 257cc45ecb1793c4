"""Stage 5b: what the site and patient safety add to the evidence just gathered.

The site's pediatric age cut-off decides the patient group, and for a positive chart (a CT can be
suggested) the contrast safety findings are read: kidney function, a contrast allergy or prior
reaction, pregnancy (clinical.contrast). Kept apart from the evidence stage so the chart search
stays one concern and this one stays small; dates are judged against the runtime's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..clinical import contrast
from ..clinical.workup import is_pediatric
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
    if evidence is None:
        return
    if site is not None:
        evidence.pediatric = is_pediatric(evidence.age, site.pediatric_below)
    if not evidence.positive:
        return
    evidence.limits = site.limits(kb) if site is not None else contrast.Limits()
    now = datetime.fromtimestamp(runtime.clock(), UTC)
    evidence.safety = contrast.assess(exchange.record, kb, evidence, evidence.limits, now, _results(exchange))
    concerns = evidence.safety.concerns
    if concerns:
        exchange.notes["contrastSafety"] = concerns
