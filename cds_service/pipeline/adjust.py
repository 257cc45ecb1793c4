"""Stage 6b: the site's switches on the decisions: a card kind switched off shows no card (the
order is still rated), and an indicator set by the site replaces the shipped one.

Only the card changes: the verdict, and so the appropriateness rating, stays what the pathway
says, because a site can silence advice but must not change what is recorded as appropriate.
"""

from __future__ import annotations

from dataclasses import replace

from .exchange import Exchange


def run(exchange: Exchange, runtime) -> None:
    site = exchange.site
    if site is None or not site.doc.get("cardKinds"):
        return
    adjusted = []
    for decision in exchange.decisions:
        spec = site.card_kind(decision.kind) if decision.kind else {}
        if spec.get("show") is False:
            exchange.notes.setdefault("switchedOff", []).append(decision.kind)
            decision = replace(decision, kind=None, indicator=None, action=None)
        elif spec.get("indicator"):
            decision = replace(decision, indicator=spec["indicator"])
        adjusted.append(decision)
    exchange.decisions = adjusted
