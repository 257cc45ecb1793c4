"""GET /openapi.json: the OpenAPI 3.1 description of this API (no authentication, CORS like discovery)."""

from __future__ import annotations

from flask import Blueprint

from . import json_response, runtime

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def description():
    return json_response(runtime().openapi_body)
