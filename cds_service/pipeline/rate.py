"""Stage 8: an appropriateness rating for each imaging draft the service judged (Argonaut PAMA).

Each rated draft comes back as a systemActions `update` that only adds the rating extensions to
the draft as the client sent it (earlier ratings of ours are replaced, never stacked). The same
rating is sent once per profile in hooks/knowledge/pama.json: at the top level as CDS Hooks 2.0
wants, and in extension.systemActions where the CDS Hooks Sandbox looks for its badge. Unrelated
or half-filled orders get no rating.

An order a card suggests (the CT swap or a new CT) carries its own rating, in every profile: the
EHR applies systemActions when the answer arrives and the suggestion's whole-resource update only
when the clinician accepts it, so the accepted order must not end up unrated, nor keep the rating
of the order it replaced; and the Sandbox reads the rating of the suggested resource to apply it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from ..audit.ledger import IssuedRating
from ..clinical.orders import classify_order
from .decide import order_rule
from .exchange import Exchange


def client_code(profile: dict, verdict: str) -> str:
    """The rating in our one vocabulary, or the word this client needs instead."""
    return (profile.get("clientCodes") or {}).get(verdict, verdict)


def _extensions(resource: dict, profile: dict, pama: dict, verdict: str, consult_id: str) -> list:
    """The resource's extensions with this profile's rating in place of any earlier one of ours."""
    ours = {profile["ratingUrl"], profile["consultedUrl"], profile["consultIdUrl"]}
    kept = [e for e in resource.get("extension") or () if not (isinstance(e, dict) and e.get("url") in ours)]
    return kept + [
        {
            "url": profile["ratingUrl"],
            "valueCodeableConcept": {
                "coding": [{"system": profile["ratingSystem"], "code": client_code(profile, verdict)}],
                "text": pama["ratings"][verdict],
            },
        },
        {"url": profile["consultedUrl"], "valueString": pama["mechanism"]},
        {"url": profile["consultIdUrl"], "valueUri": consult_id},
    ]


def _rated(draft: dict, profile: dict, pama: dict, verdict: str, consult_id: str) -> dict:
    extension = _extensions(draft, profile, pama, verdict, consult_id)
    return {"type": "update", "description": pama["actionDescription"], "resource": {**draft, "extension": extension}}


def _rate_suggested_orders(exchange: Exchange, kb) -> None:
    """Every ServiceRequest a card suggests (update or create) gets its own rating in all profiles."""
    pama, flags = kb.pama, exchange.evidence.flags()
    for card in exchange.response.get("cards", ()):
        for suggestion in card.get("suggestions", ()):
            for action in suggestion.get("actions", ()):
                resource = action.get("resource")
                if action.get("type") not in ("create", "update") or not isinstance(resource, dict):
                    continue
                order_class = classify_order(resource, kb)
                if resource.get("resourceType") != "ServiceRequest" or order_class not in pama["ratedClasses"]:
                    continue
                verdict = order_rule(kb, order_class, flags)["verdict"]
                consult_id = f"urn:uuid:{uuid.uuid4()}"
                for profile in pama["profiles"]:
                    resource["extension"] = _extensions(resource, profile, pama, verdict, consult_id)


def run(exchange: Exchange, runtime) -> None:
    pama = runtime.knowledge.pama
    placed: dict[str, list] = {profile["placement"]: [] for profile in pama["profiles"]}
    ratings, consults = [], {}
    for decision in exchange.decisions:
        draft = decision.draft
        if draft is None or not draft.get("id") or decision.verdict is None:
            continue
        if decision.order_class not in pama["ratedClasses"]:
            continue
        consult_id = f"urn:uuid:{uuid.uuid4()}"
        for profile in pama["profiles"]:
            placed[profile["placement"]].append(_rated(draft, profile, pama, decision.verdict, consult_id))
        ratings.append(IssuedRating(consult_id, decision.order_class, decision.verdict))
        consults[decision.draft_ref] = consult_id
    exchange.ratings = ratings
    if exchange.evidence is not None and exchange.evidence.positive:
        _rate_suggested_orders(exchange, runtime.knowledge)
    exchange.issued = [replace(card, consult_id=consults.get(card.draft_ref)) for card in exchange.issued]
    if placed.get("systemActions"):
        exchange.response["systemActions"] = placed["systemActions"]
    if placed.get("extension.systemActions"):
        exchange.response.setdefault("extension", {})["systemActions"] = placed["extension.systemActions"]
