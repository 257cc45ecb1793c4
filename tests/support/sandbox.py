"""The real CDS Hooks Sandbox (the build in ../shared/sandbox) driven in headless Chromium.

Everything it talks to is on loopback: the Sandbox's static files, a FHIR server holding the demo
patients (the browser reads it cross-origin, so it answers CORS), and the service under test with
client authentication required and the Sandbox's published key pinned (its `jku` never fetched).
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tests.support.servers import LoopbackHTTP, QuietHandler

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
BUILD = SHARED / "sandbox" / "build"
SANDBOX_JWKS = SHARED / "data" / "cds-hooks-sandbox-jwks.json"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def why_not_runnable() -> str | None:
    """The reason the real Sandbox cannot be driven here, or None when it can."""
    if not (BUILD / "index.html").is_file() or not SANDBOX_JWKS.is_file():
        return f"the CDS Hooks Sandbox build is not beside the project ({BUILD}); a fresh clone has no ../shared"
    if chromium() is None:
        return "Debian's chromium is not installed (.ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (a dev extra) is not installed"
    return None


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def trusted_clients(folder: Path, fhir_base: str) -> Path:
    """The Sandbox registered as in deploy/trusted-clients.sandbox.json, with the loopback FHIR
    server allowed and its key set pinned from ../shared/data."""
    path = folder / "trusted-clients.json"
    entry = {
        "iss": SANDBOX_ISS,
        "jku": SANDBOX_JKU,
        "jwks": json.loads(SANDBOX_JWKS.read_text()),
        "fhir_servers": [fhir_base],
    }
    path.write_text(json.dumps([entry]))
    return path


class StaticSite(LoopbackHTTP):
    """Serves the Sandbox build as static files."""

    def __init__(self, folder: Path):
        class Handler(QuietHandler, SimpleHTTPRequestHandler):
            pass

        super().__init__(functools.partial(Handler, directory=str(folder)))


class CorsFhir(LoopbackHTTP):
    """An open FHIR R4 server holding some resources: reads, `{type}?…` searches by GET and
    `{type}/_search` by POST (what the Sandbox tries first), filtered by patient and by `status`;
    every answer carries CORS headers. `calls` records (method, path) in order."""

    def __init__(self, resources: list[dict]):
        self.resources = {f"{r['resourceType']}/{r['id']}": r for r in resources}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        store = self

        class Handler(QuietHandler):
            def do_OPTIONS(self):
                store._reply(self, 204, None)

            def do_GET(self):
                parts = urlsplit(self.path)
                store._answer(self, "GET", parts.path, dict(parse_qsl(parts.query)))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                parts = urlsplit(self.path)
                store._answer(self, "POST", parts.path, {**dict(parse_qsl(parts.query)), **dict(parse_qsl(raw))})

        super().__init__(Handler)
        self.url = self.base + "/fhir"

    @staticmethod
    def _reply(handler, status: int, body: dict | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        handler.send_header("Access-Control-Allow-Origin", "*")
        handler.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        handler.send_header("Access-Control-Allow-Headers", "authorization, content-type, accept")
        if body is not None:
            handler.send_header("Content-Type", "application/fhir+json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, handler, method: str, path: str, params: dict) -> None:
        path = path.removeprefix("/fhir/").removesuffix("/_search")
        with self._lock:
            self.calls.append((method, path))
        if path == "metadata":
            body = {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "fhirVersion": "4.0.1",
            }
            return self._reply(handler, 200, {**body, "format": ["json"], "date": "2026-01-01"})
        if "/" in path:
            found = self.resources.get(path)
            return self._reply(handler, 200 if found else 404, found or {"resourceType": "OperationOutcome"})
        matches = [r for r in self.resources.values() if r["resourceType"] == path and self._matches(r, params)]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches)}
        return self._reply(handler, 200, {**bundle, "entry": [{"resource": r} for r in matches]})

    @staticmethod
    def _matches(resource: dict, params: dict) -> bool:
        patient = params.get("patient") or params.get("subject")
        if patient:
            target = patient if patient.startswith("Patient/") else f"Patient/{patient}"
            refs = {(resource.get(k) or {}).get("reference") for k in ("subject", "patient")}
            if target not in refs:
                return False
        if "status" in params and resource.get("status") not in params["status"].split(","):
            return False
        return True


def prefetch_like_the_sandbox(templates: dict, resources: list[dict], patient_id: str) -> dict:
    """What the Sandbox sends as prefetch: each template filled and answered by a FHIR server
    holding `resources` (reads as the resource, searches as a searchset Bundle)."""
    store = CorsFhir.__new__(CorsFhir)  # its search logic only; no server
    store.resources = {f"{r['resourceType']}/{r['id']}": r for r in resources}
    prefetch = {}
    for key, template in templates.items():
        query = template.replace("{{context.patientId}}", patient_id)
        path, _, raw = query.partition("?")
        if not raw:
            if path in store.resources:
                prefetch[key] = store.resources[path]
            continue
        params = dict(parse_qsl(raw))
        found = [r for r in store.resources.values() if r["resourceType"] == path and store._matches(r, params)]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]}
    return prefetch
