"""POST {base}/cds-services/{id}/feedback: what the clinician did with our cards (CDS Hooks 2.0 §Feedback)."""

from __future__ import annotations

from flask import Blueprint, g

from ..audit import feedback
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
    try:
        rows = feedback.rows(service_id, body["feedback"])
    except ValueError:
        raise CdsError(400, "feedback.outcomeTimestamp: not a real date and time", log_detail="bad timestamp") from None
    try:
        added = feedback.store(rt.database, rows)
    except StorageError as exc:
        raise CdsError(
            503,
            "feedback could not be stored; retry later",
            headers={"Retry-After": "5"},
            log_detail=f"feedback store: {exc}",
        ) from None
    g.log["feedback"] = {"items": len(body["feedback"]), "new": added}
    suppress_repeats(rt, body["feedback"])
    return json_response({"received": len(body["feedback"]), "stored": added})


def suppress_repeats(rt, items: list[dict]) -> None:
    """Overrides with a reason start a suppression (site file); the feedback is already stored,
    so a failure here is logged and the clinician may see the card once more."""
    site = rt.site.current()
    cards = suppression.overridden_cards(items)
    if not (site.suppression_enabled and cards):
        return
    rt.ledger.flush()  # the card's subject row may still be queued in this worker
    try:
        g.log["suppressions"] = suppression.record_overrides(
            rt.database, cards, int(rt.clock()), site.suppression_seconds
        )
    except StorageError as exc:
        g.log["suppressions"] = f"not recorded: {exc}"
