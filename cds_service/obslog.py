"""Structured logs: one JSON object per line, one line per request.

Only fields we put there by name reach the log (request id, route, service, status, stage
timings, counts); request bodies, JWTs, access tokens and patient identifiers never do.
"""

from __future__ import annotations

import logging
import sys
import time

import orjson

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _JsonHandler(logging.StreamHandler):
    _cds_json = True  # marks the handler configure() added, so a second call adds none


def configure(level: str) -> None:
    """Route the service's loggers to stderr as JSON (idempotent: the app factory may run twice)."""
    root = logging.getLogger("cds_service")
    root.setLevel(level)
    if not any(getattr(h, "_cds_json", False) for h in root.handlers):
        handler = _JsonHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.propagate = False
