"""Stage 8: an appropriateness rating for each imaging draft the service judged (Argonaut PAMA).

Each rated draft comes back as a systemActions `update` that only adds the rating extensions to
the draft as the client sent it (earlier ratings of ours are replaced, never stacked). The same
rating is sent once per profile in hooks/knowledge/pama.json: at the top level as CDS Hooks 2.0
wants, and in extension.systemActions where the CDS Hooks Sandbox looks for its badge. Unrelated
or half-filled orders get no rating.
"""
from __future__ import annotations

import uuid
from dataclasses import replace

from ..audit.ledger import IssuedRating
from .exchange import Exchange


def _rated(draft: dict, profile: dict, pama: dict, verdict: str, consult_id: str) -> dict:
    ours = {profile["ratingUrl"], profile["consultedUrl"], profile["consultIdUrl"]}
    kept = [e for e in draft.get("extension") or () if not (isinstance(e, dict) and e.get("url") in ours)]
    extension = kept + [
        {"url": profile["ratingUrl"],
         "valueCodeableConcept": {"coding": [{"system": profile["ratingSystem"], "code": profile["codes"][verdict]}]}},
        {"url": profile["consultedUrl"], "valueString": pama["mechanism"]},
        {"url": profile["consultIdUrl"], "valueUri": consult_id},
    ]
    return {"type": "update", "description": pama["actionDescription"], "resource": {**draft, "extension": extension}}


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
    exchange.issued = [replace(card, consult_id=consults.get(card.draft_ref)) for card in exchange.issued]
    if placed.get("systemActions"):
        exchange.response["systemActions"] = placed["systemActions"]
    if placed.get("extension.systemActions"):
        exchange.response.setdefault("extension", {})["systemActions"] = placed["extension.systemActions"]
