"""Stage 5b: what the site and patient safety add to the evidence just gathered.

The site's pediatric age cut-off decides the patient group, and for a positive chart (a CT can be
suggested) the contrast safety findings are read: kidney function, a contrast allergy or prior
reaction, pregnancy (clinical.contrast). Kept apart from the evidence stage so the chart search
stays one concern and this one stays small; dates are judged against the runtime's clock.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ..clinical import contrast
from ..clinical.workup import is_pediatric
from .exchange import Exchange


def run(exchange: Exchange, runtime) -> None:
    evidence, site, kb = exchange.evidence, exchange.site, runtime.knowledge
    if evidence is None:
        return
    if site is not None:
        evidence.pediatric = is_pediatric(evidence.age, site.pediatric_below)
    if not evidence.positive:
        return
    evidence.limits = site.limits(kb) if site is not None else contrast.Limits()
    now = datetime.fromtimestamp(runtime.clock(), timezone.utc)
    evidence.safety = contrast.assess(exchange.record, kb, evidence, evidence.limits, now)
    concerns = evidence.safety.concerns
    if concerns:
        exchange.notes["contrastSafety"] = concerns
