"""Stage 6: which advice applies, one Decision per judged draft (plus one for patient-view).

Every judged draft gets a verdict (appropriate / not-appropriate / no-criteria-apply) even when no
card is shown, so a later stage can record an appropriateness rating per order. The table that
maps order class and chart state to card kind and verdict is data (hooks/knowledge/rules.json).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clinical.orders import classify_order
from .exchange import Exchange


@dataclass
class Decision:
    kind: str | None  # card kind id from cards.json, None when no card
    indicator: str | None
    draft: dict | None = None  # the judged draft this is about (None for patient-view)
    draft_ref: str | None = None
    order_class: str | None = None
    verdict: str | None = None  # per-order appropriateness; None for patient-view
    action: str | None = None  # suggestion action id from cards.json, None for no suggestion


def _matches(rule: dict, flags: dict) -> bool:
    return all(flags.get(name) == wanted for name, wanted in (rule.get("when") or {}).items())


def order_rule(kb, order_class: str | None, flags: dict) -> dict:
    """The first rules.json order rule for this class and chart state (no-criteria-apply when none)."""
    return next(
        (r for r in kb.rules["orders"] if r["class"] == order_class and _matches(r, flags)),
        {"verdict": "no-criteria-apply"},
    )


def _card(kb, kind: str | None, hook: str, ct_pending: bool) -> tuple[str | None, str | None]:
    if kind is None:
        return None, None
    spec = kb.cards["kinds"][kind]
    indicator = (spec.get("indicatorByHook") or {}).get(hook, spec["indicator"])
    action = (
        spec.get("suggestionWhenCtOrdered") if ct_pending and "suggestionWhenCtOrdered" in spec else spec["suggestion"]
    )
    return indicator, action


def decide_orders(kb, evidence, judged: list[dict], hook: str) -> list[Decision]:
    decisions = []
    flags = evidence.flags()
    ct_pending = bool(evidence.ct_orders)
    for draft in judged:
        order_class = classify_order(draft, kb)
        ref = f"{draft.get('resourceType')}/{draft.get('id')}" if draft.get("id") else None
        if not evidence.positive:
            decisions.append(Decision(None, None, draft, ref, order_class, kb.rules["noEvidenceVerdict"]))
            continue
        rule = order_rule(kb, order_class, flags)
        kind = rule.get("card")
        indicator, action = _card(kb, kind, hook, ct_pending)
        if action in ("update-draft-to-ct", "cancel-draft") and (
            ref is None or draft.get("resourceType") != "ServiceRequest"
        ):
            action = None if ct_pending else "create-ct"
        if action == "create-ct" and ct_pending:
            action = None
        if action in ("create-ct", "update-draft-to-ct"):
            ct_pending = True  # one CT suggestion per response, however many drafts ask for it
        decisions.append(Decision(kind, indicator, draft, ref, order_class, rule["verdict"], action))
    return decisions


def decide_patient_view(kb, evidence, hook: str) -> list[Decision]:
    if not evidence.positive:
        return []
    flags = evidence.flags()
    rule = next((r for r in kb.rules["patientView"] if _matches(r, flags)), None)
    if rule is None or "card" not in rule:  # a rule without a card: silence for that chart state
        return []
    indicator, action = _card(kb, rule["card"], hook, bool(evidence.ct_orders))
    return [Decision(rule["card"], indicator, action=action)]


def run(exchange: Exchange, runtime) -> None:
    kb, evidence, hook = runtime.knowledge, exchange.evidence, exchange.service.hook
    if exchange.service.orders == "none":
        exchange.decisions = decide_patient_view(kb, evidence, hook)
    else:
        exchange.decisions = decide_orders(kb, evidence, exchange.record.judged, hook)
    exchange.notes["decisions"] = [
        {"kind": d.kind, "verdict": d.verdict, "orderClass": d.order_class} for d in exchange.decisions
    ]
