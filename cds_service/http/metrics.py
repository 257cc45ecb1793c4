"""GET /metrics: Prometheus text format, outside CDS client authentication (like /healthz).

It carries counts and timings only (no patient data, no identifiers), so it is open by default
for a scraper on the private network; CDS_METRICS_ENABLED=false removes it (404) where the
port is exposed beyond that network and no proxy restricts the path.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort

from .. import metrics
from . import runtime

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    if not runtime().settings.metrics_enabled:
        abort(404)
    body, content_type = metrics.exposition()
    return Response(body, status=200, content_type=content_type, headers={"Cache-Control": "no-store"})
