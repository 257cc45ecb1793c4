"""Every failure leaves as the same JSON error body; a stack trace only ever reaches our log."""

from __future__ import annotations

import logging

from flask import Flask, g
from werkzeug.exceptions import HTTPException

from ..errors import CdsError, error_body
from ..storage import StorageError
from . import json_response

log = logging.getLogger("cds_service.errors")
RETRY_AFTER_S = "5"

_HTTP_MESSAGES = {
    404: "no such endpoint",
    405: "method not allowed on this endpoint",
    413: "request body is too large",
}


def _respond(status: int, message: str, keys=(), headers=None):
    return json_response(error_body(status, message, g.get("request_id", "-"), keys), status, headers)


def install(app: Flask) -> None:
    @app.errorhandler(CdsError)
    def _cds_error(exc: CdsError):
        # log_detail is set wherever the message could echo request values (ids) back
        g.setdefault("log", {})["error"] = exc.log_detail or exc.message
        return _respond(exc.status, exc.message, exc.keys, exc.headers)

    @app.errorhandler(StorageError)
    def _storage_error(exc: StorageError):
        # a locked, stalled or unreachable database: the statement timed out, the caller may retry
        g.setdefault("log", {})["error"] = f"storage: {exc}"
        return _respond(
            503,
            "the service's database is not available right now; retry shortly",
            headers={"Retry-After": RETRY_AFTER_S},
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        headers = {}
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
        if status == 413:
            headers["Connection"] = "close"
        return _respond(status, _HTTP_MESSAGES.get(status, exc.name.lower()), headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.error("unhandled error", exc_info=exc, extra={"requestId": g.get("request_id")})
        g.setdefault("log", {})["error"] = f"unhandled {type(exc).__name__}"
        return _respond(500, "internal error; quote the request id to the service operator")
