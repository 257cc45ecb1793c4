"""HTTP endpoints (blueprints) and the guard every request passes first."""

from __future__ import annotations

import orjson
from flask import Response, current_app


def runtime():
    return current_app.extensions["cds"]


def too_large(limit: int):
    """The 413 refusal; the connection is closed because the rest of the body is never read."""
    from ..errors import CdsError

    return CdsError(413, f"request body is larger than {limit} bytes", headers={"Connection": "close"})


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(data, status=status, mimetype="application/json", headers=headers)
