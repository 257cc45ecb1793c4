"""Real HTTP servers on loopback for tests: the service under test and a FHIR server stand-in."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from werkzeug.serving import make_server


class QuietHandler(BaseHTTPRequestHandler):
    """What every stand-in here wants: HTTP/1.1 keep-alive, no request log on the test output, and
    no Nagle delay (headers and body go out in separate writes; with Nagle on, a reused connection
    waits for the client's delayed ACK, ~40 ms, before the body leaves; real servers don't)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


class QueueingHTTPServer(ThreadingHTTPServer):
    """socketserver's default listen backlog is 5: a service under gevent opens its concurrent
    fetches in the same instant, and the 6th SYN would be dropped and retried a second later."""

    request_queue_size = 128
    daemon_threads = True


class Background:
    """Runs a socketserver-style server on a free loopback port in a thread; a context manager."""

    def __init__(self, server):
        self._server = server
        self.base = f"http://127.0.0.1:{server.server_port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class LiveServer(Background):
    """Serves a Flask app on loopback (threaded, keep-alive), the way a client would reach it.

    Pass `app`, or `factory(base_url) -> app` for an app that must know its own public URL (the
    JWT `aud` base with auth required): the port is bound first, then the app is built."""

    def __init__(self, app=None, factory=None):
        server = make_server("127.0.0.1", 0, app or _not_ready, threaded=True)
        super().__init__(server)
        if factory is not None:
            server.app = factory(self.base)
        self.url = self.base


def _not_ready(environ, start_response):  # only until the factory's app is in place
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


class LoopbackHTTP(Background):
    """Serves a BaseHTTPRequestHandler class on loopback."""

    def __init__(self, handler_class):
        super().__init__(QueueingHTTPServer(("127.0.0.1", 0), handler_class))


class FhirStandIn(LoopbackHTTP):
    """A FHIR server stand-in: serves canned JSON by path+query, demands a bearer token, records calls.

    routes: "Patient/p1" or "Condition?patient=p1" -> dict body, or (status, body).
    Unrouted searches return an empty searchset; unrouted reads return 404.
    """

    def __init__(self, token: str | None = "fhir-token-abc", delay_s: float = 0.0):
        self.token = token
        self.delay_s = delay_s
        self.routes: dict[str, object] = {}
        self.calls: list[dict] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(QuietHandler):
            def do_GET(self):
                stand_in._handle(self)

        self._server = QueueingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/fhir"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        key = parts.path.removeprefix("/fhir/") + (f"?{parts.query}" if parts.query else "")
        auth = handler.headers.get("Authorization")
        with self._lock:
            self.calls.append({"path": key, "authorization": auth, "at": time.monotonic()})
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.token is not None and auth != f"Bearer {self.token}":
            status, body = 401, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]}
        elif key in self.routes:
            routed = self.routes[key]
            status, body = routed if isinstance(routed, tuple) else (200, routed)
        elif "?" in key:
            status, body = 200, {"resourceType": "Bundle", "type": "searchset", "total": 0}
        else:
            status, body = (
                404,
                {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]},
            )
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def paths(self) -> list[str]:
        with self._lock:
            return [c["path"] for c in self.calls]


class FhirStore(LoopbackHTTP):
    """A tiny FHIR server stand-in that keeps what it is sent: a transaction POSTed to its base is
    stored (PUT entries by their url), reads and `?patient=` searches answer from the store, and
    `/metadata` answers once `ready_after` calls have been refused (a server still starting).
    `answer` may replace the transaction-response: (status, body), or a delay in seconds.
    """

    def __init__(self, ready_after: int = 0):
        self.resources: dict[str, dict] = {}
        self.posts: list[dict] = []
        self.ready_after = ready_after
        self.metadata_calls = 0
        self.answer = None
        store = self

        class Handler(QuietHandler):
            def do_GET(self):
                store._reply(self, *store._get(self.path))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                store._reply(self, *store._transaction(self.path, json.loads(raw), self.headers.get("Content-Type")))

        super().__init__(Handler)
        self.url = self.base + "/fhir"

    @staticmethod
    def _reply(handler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _transaction(self, path: str, bundle: dict, content_type: str | None) -> tuple[int, dict]:
        self.posts.append({"path": path, "contentType": content_type, "bundle": bundle})
        if isinstance(self.answer, (int, float)):
            time.sleep(self.answer)
        elif self.answer is not None:
            return self.answer
        if path.rstrip("/") != "/fhir" or bundle.get("type") != "transaction":
            return 400, {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "invalid", "diagnostics": "not a transaction"}],
            }
        answers = []
        for entry in bundle["entry"]:
            url = entry["request"]["url"]
            created = url not in self.resources
            self.resources[url] = entry["resource"]
            answers.append({"response": {"status": "201 Created" if created else "200 OK", "location": url}})
        return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": answers}

    def search(self, resource_type: str, patient_id: str) -> list[dict]:
        """Stored resources of one type whose subject or patient is the given patient."""
        target = f"Patient/{patient_id}"
        return [
            r
            for r in self.resources.values()
            if r["resourceType"] == resource_type
            and target in ((r.get("subject") or {}).get("reference"), (r.get("patient") or {}).get("reference"))
        ]

    def _get(self, raw_path: str) -> tuple[int, dict]:
        parts = urlsplit(raw_path)
        path = parts.path.removeprefix("/fhir/")
        if path == "metadata":
            self.metadata_calls += 1
            if self.metadata_calls <= self.ready_after:
                return 503, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "transient"}]}
            return 200, {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "fhirVersion": "4.0.1",
            }
        if not parts.query:
            found = self.resources.get(path)
            return (
                (200, found)
                if found
                else (404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]})
            )
        params = dict(pair.partition("=")[::2] for pair in parts.query.split("&"))
        matches = self.search(path, params.get("patient", ""))
        return 200, {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [{"resource": r} for r in matches],
        }
