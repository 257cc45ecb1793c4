"""POST {base}/cds-services/{id}: one CDS Hooks invocation through the pipeline."""

from __future__ import annotations

from flask import Blueprint, g, request

from .. import pipeline
from ..audit import decisions
from ..errors import CdsError
from ..pipeline.exchange import Exchange
from . import json_response, runtime, too_large

bp = Blueprint("services", __name__)


def require_json() -> bytes:
    """The body as bytes, refusing non-JSON media types (415) before parsing anything."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise CdsError(415, "Content-Type must be application/json")
    data = request.get_data(cache=False)
    limit = runtime().settings.max_body_bytes
    if len(data) > limit:
        raise too_large(limit)
    return data


@bp.post("/cds-services/<service_id>")
def invoke(service_id: str):
    rt = runtime()
    service = rt.content.services.get(service_id)
    if service is None:
        raise CdsError(404, "unknown CDS service id", log_detail="unknown service")
    raw = require_json()
    g.log["service"] = service.id
    exchange = Exchange(service=service, raw_body=raw, request_id=g.request_id, client=g.get("client"))
    try:
        body = pipeline.run(exchange, rt)
    finally:
        g.log["stagesMs"] = exchange.timings
        if exchange.notes:
            g.log.update(exchange.notes)
    if exchange.issued or exchange.ratings:
        issued = decisions.keyed(exchange.issued, rt.decision_secret, exchange.context.get("patientId"))
        rt.ledger.submit(service.id, service.hook, issued, exchange.ratings, exchange.request_id)
    return json_response(body)
