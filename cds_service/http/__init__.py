"""HTTP endpoints (blueprints) and the guard every request passes first."""
from __future__ import annotations

import orjson
from flask import Response, current_app


def runtime():
    return current_app.extensions["cds"]


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(data, status=status, mimetype="application/json", headers=headers)
