"""POST {base}/cds-services/{id}/feedback: what the clinician did with our cards (CDS Hooks 2.0 §Feedback).

Each item is checked against the card it names (audit.feedback: issued by this service to this
caller, with the reason and suggestions it offered); refused items are listed in the answer and
never stored. A card whose record has not reached the database yet is waited for, bounded
(audit.feedback.await_issued). The accepted items and the suppressions their overrides start are
written in one transaction: both or neither (503 with Retry-After when storage cannot take them,
or cannot say whether a card was issued).
"""

from __future__ import annotations

from flask import Blueprint, g

from ..audit import feedback
from ..auth.identity import LOCAL
from ..errors import CdsError
from ..pipeline.validate import check, json_object
from ..site import suppression
from ..storage import StorageError
from . import json_response, runtime
from .services import require_json

bp = Blueprint("feedback", __name__)


@bp.post("/cds-services/<service_id>/feedback")
def receive(service_id: str):
    rt = runtime()
    if service_id not in rt.content.services:
        raise CdsError(404, "unknown CDS service id", log_detail="unknown service")
    g.log["service"] = service_id
    body = json_object(require_json())
    check(rt.content.schemas, "feedback.schema.json", body, "")
    items = body["feedback"]
    try:
        rows = feedback.rows(service_id, items)
    except ValueError:
        raise CdsError(400, "feedback.outcomeTimestamp: not a real date and time", log_detail="bad timestamp") from None
    caller = g.get("caller", LOCAL)
    try:
        cards = _issued(rt, service_id, caller.key, [item["card"] for item in items])
        refused = [
            {"item": i, "card": item["card"], "reason": why, "message": feedback.MESSAGES[why]}
            for i, item in enumerate(items)
            if (why := feedback.refusal(item, cards.get(item["card"])))
        ]
        kept = [i for i in range(len(items)) if i not in {r["item"] for r in refused}]
        added, started = _store(rt, caller.key, [items[i] for i in kept], [rows[i] for i in kept])
    except StorageError as exc:
        raise CdsError(
            503,
            "feedback could not be stored; retry later",
            headers={"Retry-After": "5"},
            log_detail=f"feedback store: {exc}",
        ) from None
    g.log["feedback"] = {"items": len(items), "new": added, "refused": [r["reason"] for r in refused][:20]}
    if started is not None:
        g.log["suppressions"] = started
    answer: dict = {"received": len(items), "stored": added}
    if refused:
        answer["refused"] = refused
    return json_response(answer)


def _issued(rt, service_id: str, client_key: str, uuids: list[str]) -> dict:
    db = rt.database
    scanned: set[str] = set()  # spool files this request has read already
    return feedback.await_issued(
        lambda wanted: feedback.issued_cards(db, service_id, client_key, wanted),
        lambda wanted, left: rt.ledger.hurry(wanted, db, left, scanned),
        uuids,
        rt.settings.feedback_wait_s,
    )


def _store(rt, client_key: str, items: list[dict], rows: list[tuple]) -> tuple[int, int | None]:
    """Store the items and start the suppressions their overrides call for, in one transaction."""
    site = rt.site.current()
    overridden = suppression.overridden_cards(items) if site.suppression_enabled else []
    if not rows:
        return 0, None
    with rt.database.transaction():
        added = feedback.store(rt.database, rows)
        started = (
            suppression.start(rt.database, client_key, overridden, int(rt.clock()), site.suppression_seconds)
            if overridden
            else None
        )
    return added, started
