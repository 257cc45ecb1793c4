"""Stage 7b: which rendered cards the clinician actually gets.

In this order: cards overridden with a reason recently for this patient and kind of order are
suppressed (site suppression; see site.suppression for the order-sign exception), info cards
go when the EHR asked for none, and the rest is capped at the site's or the call's maximum,
most urgent first. Every card keeps its ledger entry with its disposition, so the committee
report counts what was held back. A failing suppression store shows the card (fail open).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from ..site import suppression
from ..site.options import DEFAULT_MAX_CARDS
from ..storage import StorageError
from .exchange import Exchange

log = logging.getLogger("cds_service.suppress")
URGENCY = {"critical": 0, "warning": 1, "info": 2}


def _suppressions(exchange: Exchange, runtime, subject: str) -> dict:
    try:
        return suppression.active(runtime.database, subject, int(runtime.clock()))
    except StorageError as exc:
        exchange.notes["suppressionStore"] = f"unavailable: {exc}"
        return {}


def run(exchange: Exchange, runtime) -> None:
    site, cards = exchange.site, exchange.response.get("cards") or []
    if site is None or not cards:
        return
    shown = [d for d in exchange.decisions if d.kind]
    issued = list(exchange.issued)
    disposition = ["shown"] * len(cards)
    if site.suppression_enabled and site.secret and exchange.options.get("suppress-repeats", True):
        subject = suppression.subject_key(site.secret, exchange.context["patientId"])
        active = _suppressions(exchange, runtime, subject)
        hook = exchange.service.hook
        for i, (decision, card) in enumerate(zip(shown, cards, strict=True)):
            order_kind = decision.order_class or "none"
            issued[i] = replace(issued[i], subject_key=subject, order_kind=order_kind)
            if suppression.is_suppressed(active.get((decision.kind, order_kind)), hook, card["indicator"]):
                disposition[i] = "suppressed"
    if exchange.options.get("info-cards") is False:
        disposition = [
            "capped" if d == "shown" and c["indicator"] == "info" else d
            for d, c in zip(disposition, cards, strict=True)
        ]
    cap = min(site.max_cards or DEFAULT_MAX_CARDS, exchange.options.get("max-cards", DEFAULT_MAX_CARDS))
    live = sorted(
        (i for i, d in enumerate(disposition) if d == "shown"), key=lambda i: URGENCY.get(cards[i]["indicator"], 3)
    )
    for i in live[cap:]:
        disposition[i] = "capped"
    exchange.issued = [replace(card, disposition=d) for card, d in zip(issued, disposition, strict=True)]
    exchange.response["cards"] = [card for card, d in zip(cards, disposition, strict=True) if d == "shown"]
    held = {d: disposition.count(d) for d in ("suppressed", "capped") if d in disposition}
    if held:
        exchange.notes["heldBack"] = held
