"""Shared fixtures: the app on a real loopback HTTP server, and a FHIR server stand-in."""

from __future__ import annotations

import pytest
import requests

from cds_service import create_app
from cds_service.config import Settings
from tests.support.servers import FhirStandIn, LiveServer


@pytest.fixture
def make_app(tmp_path):
    """Build an app with auth off and a throwaway database unless a test says otherwise."""

    def factory(env: dict | None = None, **overrides):
        base = {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3",
            "CDS_SPOOL_DIR": str(tmp_path / "spool"),
            "CDS_VALIDATE_RESPONSES": "true",
        }
        base.update(env or {})
        return create_app(Settings.from_env(base, **overrides))

    return factory


@pytest.fixture
def live(make_app):
    """Start the app on loopback; yields a function (env=..., **overrides) -> base URL.

    Unless the test sets it, CDS_PUBLIC_BASE_URL is the server's own loopback URL, so JWTs name
    the URL they are sent to as their `aud`."""
    servers = []

    def start(env: dict | None = None, **overrides) -> str:
        def build(base_url: str):
            return make_app({"CDS_PUBLIC_BASE_URL": base_url, **(env or {})}, **overrides)

        server = LiveServer(factory=build).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def live_app(make_app):
    """Like `live`, but yields (base URL, runtime) so a test can drive the clock or flush the ledger."""
    servers = []

    def start(env: dict | None = None, **overrides):
        app = make_app(env, **overrides)
        server = LiveServer(app).__enter__()
        servers.append(server)
        return server.url, app.extensions["cds"]

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def fhir():
    with FhirStandIn() as server:
        yield server


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False
        yield session


class LogLines(list):
    """Formatted log lines as they would reach stderr, with helpers for the per-request lines."""

    @property
    def text(self) -> str:
        return "\n".join(self)

    def requests(self) -> list[dict]:
        import json

        return [entry for entry in map(json.loads, self) if entry.get("msg") == "request"]


@pytest.fixture
def log_lines():
    """Everything the service logs during the test, formatted exactly as its JSON log would."""
    import logging

    from cds_service.obslog import JsonFormatter

    lines = LogLines()

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cds_service")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
