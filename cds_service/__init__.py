"""CDS Hooks 2.0 service for imaging decisions at order entry (Flask application factory)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:  # imported inside create_app: `serve` lets gevent patch the standard library first
    from flask import Flask

log = logging.getLogger("cds_service")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; content under hooks/ is loaded and validated here, so bad content fails fast."""
    from flask import Flask

    from . import obslog
    from .runtime import Runtime

    settings = settings or Settings.from_env()
    obslog.configure(settings.log_level)
    app = Flask(__name__)
    # One byte over the limit: Werkzeug silently truncates a chunked body at MAX_CONTENT_LENGTH,
    # so the extra byte lets require_json tell "exactly at the limit" from "over it" (413).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.url_map.strict_slashes = False  # a trailing slash must never turn a CORS preflight into a redirect
    app.extensions["cds"] = Runtime.build(settings)

    from .http import discovery, errors, feedback, guard, health, metrics, openapi, services

    guard.install(app)
    errors.install(app)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(services.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    if settings.auth_mode == "off":
        log.warning("CDS_AUTH_MODE=off: CDS client JWTs are NOT checked; use only for local testing")
    return app
