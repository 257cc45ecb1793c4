"""Stage 9a: a service in shadow mode computes and records everything, and shows nothing.

The cards and ratings it would have returned go to the ledger marked as shadow, so the
committee report can show "would have fired N times" beside the live services; the EHR gets
{"cards": []} with no systemActions (no rating is written into its drafts either).
"""

from __future__ import annotations

from dataclasses import replace

from .exchange import Exchange


def run(exchange: Exchange, runtime) -> None:
    site = exchange.site
    if site is None or site.mode(exchange.service.id) != "shadow":
        return
    exchange.issued = [replace(c, disposition="shadow") if c.disposition == "shown" else c for c in exchange.issued]
    exchange.ratings = [replace(r, shadow=True) for r in exchange.ratings]
    exchange.notes["mode"] = "shadow"
    exchange.notes["shadowCards"] = len(exchange.response.get("cards") or [])
    exchange.response = {"cards": []}
