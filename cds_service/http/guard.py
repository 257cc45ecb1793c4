"""What happens around every request: request id, body-size limit, CORS, authentication, the log line.

CORS preflights are answered here before anything else (browsers send them without the JWT),
and CORS headers are added to every answer, errors included, or a browser client such as the
CDS Hooks Sandbox would see a network error instead of our JSON message.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from .. import metrics
from . import runtime, too_large

log = logging.getLogger("cds_service.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_ALLOW_METHODS = "GET, POST, OPTIONS"
_ALLOW_HEADERS = "Authorization, Content-Type, X-Request-ID"
PROTECTED_PREFIX = "/cds-services"


def endpoint_urls() -> tuple[str, ...]:
    """The URLs the JWT `aud` may name for this endpoint: each configured public base URL plus the
    path. Never built from the Host header, which the caller controls."""
    path = request.path.rstrip("/") or "/"
    return tuple(base + path for base in runtime().settings.audience_bases)


def _cors_headers(response: Response) -> None:
    origins = runtime().settings.cors_origins
    origin = request.headers.get("Origin")
    if "*" in origins:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin.rstrip("/") in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        return
    response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, WWW-Authenticate"


def _empty() -> Response:
    """A 204 with no body and no Content-Type (Flask would label even an empty answer text/html)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def _options() -> Response:
    """OPTIONS without a CORS preflight: which methods the path takes, nothing else."""
    response = _empty()
    methods = sorted((request.url_rule.methods or set()) | {"OPTIONS"}) if request.url_rule else ["OPTIONS"]
    response.headers["Allow"] = ", ".join(methods)
    return response


def _preflight() -> Response:
    response = _empty()
    response.headers["Access-Control-Allow-Methods"] = _ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    if request.headers.get("Access-Control-Request-Private-Network") == "true":
        response.headers["Access-Control-Allow-Private-Network"] = "true"
    return response


def _before():
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.log = {}
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        return _preflight()
    if request.method == "OPTIONS" and request.routing_exception is None:
        return _options()
    limit = runtime().settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    if request.routing_exception is not None or not request.path.startswith(PROTECTED_PREFIX):
        return None
    if request.method == "OPTIONS":
        return None
    g.client, g.caller = runtime().auth.authenticate(request.headers.get("Authorization"), endpoint_urls())
    return None


def _after(response: Response) -> Response:
    g.status = response.status_code
    _cors_headers(response)
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def _teardown(exc) -> None:
    entry = {
        "requestId": g.get("request_id"),
        "method": request.method,
        "path": request.path[:128],
        "status": g.get("status"),
        "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 3),
    }
    entry.update(g.get("log") or {})
    client = g.get("client")
    if client is not None:
        entry["iss"] = client.iss
    log.info("request", extra=entry)
    metrics.observe_request(
        request.endpoint,
        (request.view_args or {}).get("service_id"),
        entry["status"],
        entry["ms"] / 1000,
        runtime().content.services,
    )


def install(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)
