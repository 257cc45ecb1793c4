"""GET /healthz: liveness for load balancers and compose; reveals nothing about patients."""
from __future__ import annotations

from flask import Blueprint

from . import json_response, runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return json_response({"status": "ok", "services": len(runtime().content.services)})
