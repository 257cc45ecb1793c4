"""GET {base}/cds-services: the discovery document, serialised once at start-up."""

from __future__ import annotations

from flask import Blueprint

from . import json_response, runtime

bp = Blueprint("discovery", __name__)


@bp.get("/cds-services")
def discovery():
    rt = runtime()
    rt.site.current()  # a changed site file (options, local codes) is picked up here too
    return json_response(rt.discovery_body)
