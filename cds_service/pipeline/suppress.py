"""Stage 7b: which rendered cards the clinician actually gets.

In this order: cards this caller's clinician already answered for this patient are suppressed
(site suppression; site.suppression holds the rule: same draft on any hook, other drafts quiet
except order-sign's last look, claimed once), info cards go when the EHR asked for none, and the
rest is capped at the site's or the call's maximum, most urgent first. Every card keeps its
ledger entry with its disposition, so the committee report counts what was held back.

Storage is read through the hook lane (storage.HookLane): bounded to tens of milliseconds; when
it cannot answer, the card is shown (fail safe) and the log line says so.
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


def _lane(exchange: Exchange, runtime, fn, *args, failed=None):
    try:
        return runtime.hook_lane.call(fn, *args)
    except StorageError as exc:
        exchange.notes["suppressionStore"] = f"unavailable: {exc}"
        return failed


def _suppressed(exchange: Exchange, runtime, shown: list, cards: list, issued: list, disposition: list) -> None:
    site, context, hook = exchange.site, exchange.context, exchange.service.hook
    client_key, now = exchange.caller.key, int(runtime.clock())
    subject = suppression.subject_key(site.secret, context["patientId"])
    rows = _lane(exchange, runtime, suppression.active, client_key, subject, now, failed=[])
    for i, (decision, card) in enumerate(zip(shown, cards, strict=True)):
        order_kind = decision.order_class or "none"
        draft = suppression.draft_key(site.secret, context["patientId"], decision.draft_ref)
        issued[i] = replace(issued[i], subject_key=subject, order_kind=order_kind, draft_key=draft)
        verdict = suppression.verdict(rows, decision.kind, order_kind, draft, hook, card["indicator"])
        if verdict == "last-look":
            claim = (suppression.claim_last_look, client_key, subject, decision.kind, draft, now)
            first = _lane(exchange, runtime, *claim, site.suppression_seconds, failed=True)
            verdict = "shown" if first else "suppressed"
        if verdict == "suppressed":
            disposition[i] = "suppressed"


def run(exchange: Exchange, runtime) -> None:
    site, cards = exchange.site, exchange.response.get("cards") or []
    if site is None or not cards:
        return
    shown = [d for d in exchange.decisions if d.kind]
    issued = list(exchange.issued)
    disposition = ["shown"] * len(cards)
    if site.suppression_enabled and site.secret and exchange.options.get("suppress-repeats", True):
        _suppressed(exchange, runtime, shown, cards, issued, disposition)
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
