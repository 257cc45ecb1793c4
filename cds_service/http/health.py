"""GET /healthz (liveness) and GET /readyz (readiness); neither reveals anything about patients.

/healthz never touches the database or any other dependency: a stalled database must not make
an orchestrator kill healthy workers. /readyz answers 503 until every worker of this replica is
warm (cds_service.readiness), then reads the table feedback is written to, bounded by
CDS_DB_TIMEOUT_S, so a load balancer sends no work to a replica still starting, or while the
database is away or locked.
"""

from __future__ import annotations

from flask import Blueprint

from .. import readiness
from ..storage import StorageError
from . import json_response, runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return json_response({"status": "ok", "services": len(runtime().content.services)})


@bp.get("/readyz")
def readyz():
    warm, expected = readiness.workers()
    if warm < expected:
        return json_response(
            {"status": "starting", "workers": {"warm": warm, "expected": expected}}, 503, {"Retry-After": "1"}
        )
    try:
        runtime().database.query("SELECT 1 FROM cds_feedback LIMIT 1")
    except StorageError:
        return json_response({"status": "unavailable", "database": "unavailable"}, 503, {"Retry-After": "5"})
    return json_response({"status": "ready", "database": "ok"})
