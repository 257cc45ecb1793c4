"""Stage 2c: which drafts this call judges, and whether the patient's chart can matter at all.

order-select fires for every order a clinician picks, and nearly all of them are not abdominal
imaging or a biopsy. For drafts whose order class has neither a card nor a rating in the knowledge
(an aspirin, a chest X-ray, the Sandbox's half-filled first draft) no chart can change the answer,
so such a call fetches nothing from the EHR's FHIR server, answers no 412 for prefetch it would not
read, and indexes nothing. What the client did send is still checked for shape (prefetch stage: a
malformed Bundle is a 400 either way). patient-view judges no draft and always reads the chart.
"""

from __future__ import annotations

from ..clinical.orders import classify_order
from .exchange import Exchange
from .parse import resources_of


def judged_orders(drafts: list[dict], context: dict, orders: str) -> list[dict]:
    if orders == "draftOrders":
        return list(drafts)
    if orders != "selections":
        return []
    wanted = set(context.get("selections") or ())
    return [d for d in drafts if f"{d.get('resourceType')}/{d.get('id')}" in wanted]


def evidence_matters(kb, judged: list[dict]) -> bool:
    """Whether the chart can change the answer for these drafts: some draft's order class has a
    card or a rating in the knowledge."""
    rules = kb.rules
    telling = {r["class"] for r in rules["orders"] if "card" in r or r["verdict"] != rules["noEvidenceVerdict"]}
    telling |= set(kb.pama["ratedClasses"])
    return any(classify_order(draft, kb) in telling for draft in judged)


def run(exchange: Exchange, runtime) -> None:
    service = exchange.service
    exchange.drafts = resources_of(exchange.context.get("draftOrders"))
    exchange.judged = judged_orders(exchange.drafts, exchange.context, service.orders)
    exchange.chart_needed = service.orders == "none" or evidence_matters(runtime.knowledge, exchange.judged)
