"""A loopback FHIR server for `cds-service eval`: serves a chart's Binaries (and any other
resources it lists) by 'Type/id', only with the bearer token the eval run made up.

It exists so that a corpus chart whose report text sits behind `presentedForm.url` is read the
way it is in production: fetched over HTTP by the service, with the token, within its deadline.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that closes its keep-alive connection is not an error worth a traceback on
        the operator's terminal; anything else still is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandIn:
    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self.resources: dict[str, dict] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                stand_in._answer(self)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/fhir"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, resources: list[dict]) -> None:
        """The resources this chart's server holds (replacing the previous chart's)."""
        self.resources = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources if isinstance(r, dict)}

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        key = handler.path.split("?", 1)[0].removeprefix("/fhir/")
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            status, body = 401, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]}
        elif key in self.resources:
            status, body = 200, self.resources[key]
        else:
            status, body = (
                404,
                {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]},
            )
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
