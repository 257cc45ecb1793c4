"""`cds-service seed-fhir`: load a FHIR transaction Bundle into a FHIR server (the compose demo's data).

The compose demo needs patients on its HAPI FHIR server before the Sandbox can open one; the same
command loads any transaction Bundle into any FHIR R4 server. Everything is bounded: the file's
size, each HTTP call's time, the total wait for a server that is still starting, and how much of
the server's answer is read. Failures are `SeedError`s whose message is one line for the operator.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import requests

from ..config import REPO_ROOT

DEMO_BUNDLE = REPO_ROOT / "fixtures" / "demo" / "patients.bundle.json"
MAX_BUNDLE_BYTES = 20 * 1024 * 1024
MAX_ANSWER_BYTES = 20 * 1024 * 1024
FHIR_JSON = "application/fhir+json"


class SeedError(Exception):
    """Seeding failed; `usage` is True when the operator's input is at fault (exit 2), else the server (1)."""

    def __init__(self, message: str, *, usage: bool = False):
        super().__init__(message)
        self.usage = usage


def check_base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SeedError(f"not a FHIR base URL: {url!r} (expected http(s)://host[:port]/path)", usage=True)
    return url.rstrip("/")


def load_bundle(path: Path) -> dict:
    """A transaction or batch Bundle whose every entry says what to do (request.method and url)."""
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise SeedError(f"{path} is {size} bytes; the limit is {MAX_BUNDLE_BYTES}", usage=True)
        bundle = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror}", usage=True) from None
    except orjson.JSONDecodeError as exc:
        raise SeedError(f"{path} is not JSON ({exc})", usage=True) from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise SeedError(f"{path} is not a FHIR Bundle", usage=True)
    if bundle.get("type") not in ("transaction", "batch"):
        raise SeedError(f"{path} is a Bundle of type {bundle.get('type')!r}; expected transaction or batch", usage=True)
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise SeedError(f"{path} has no entries", usage=True)
    for index, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
            raise SeedError(f"{path}: entry {index} has no request.method and request.url", usage=True)
    return bundle


def _read(response: requests.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body.extend(chunk)
        if len(body) > limit:
            raise SeedError(f"the server's answer exceeds {limit} bytes")
    return bytes(body)


def wait_until_ready(
    session: requests.Session, base: str, wait_s: float, timeout_s: float, clock=time.monotonic, sleep=time.sleep
) -> None:
    """Poll `[base]/metadata` until the server answers 200 or `wait_s` has passed (a starting server)."""
    deadline = clock() + wait_s
    last = "no answer"
    while True:
        try:
            with session.get(
                f"{base}/metadata", headers={"Accept": FHIR_JSON}, timeout=timeout_s, stream=True
            ) as answer:
                if answer.status_code == 200:
                    return
                last = f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        if clock() >= deadline:
            raise SeedError(f"the FHIR server at {base} is not answering ({last}) after waiting {wait_s:g} s")
        sleep(min(2.0, max(0.0, deadline - clock())))


def post_bundle(
    base: str, bundle: dict, *, timeout_s: float = 60.0, wait_s: float = 0.0, session: requests.Session | None = None
) -> Counter:
    """POST the Bundle to the server's base URL; count the entries' answers by status ("201 Created": 3).

    Raises SeedError unless the server answered 200 with a transaction/batch-response in which every
    entry succeeded (2xx).
    """
    session = session or requests.Session()
    session.trust_env = False  # the URL given is the server meant; no ambient proxy
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=minimal"}
    if wait_s > 0:
        wait_until_ready(session, base, wait_s, min(timeout_s, 10.0))
    try:
        with session.post(base, data=orjson.dumps(bundle), headers=headers, timeout=timeout_s, stream=True) as answer:
            status, raw = answer.status_code, _read(answer)
    except requests.Timeout:
        raise SeedError(f"the FHIR server at {base} did not answer within {timeout_s:g} s") from None
    except requests.RequestException as exc:
        raise SeedError(f"cannot reach the FHIR server at {base} ({type(exc).__name__})") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if status != 200:
        raise SeedError(f"the FHIR server refused the Bundle: HTTP {status}{_diagnostics(body)}")
    if not isinstance(body, dict) or body.get("type") not in ("transaction-response", "batch-response"):
        raise SeedError("the FHIR server's answer is not a transaction-response Bundle")
    outcomes: Counter[str] = Counter()
    for entry in body.get("entry") or ():
        code = str(((entry or {}).get("response") or {}).get("status", "?")).strip()
        outcomes[code] += 1
    failed = sum(n for code, n in outcomes.items() if not code[:1] == "2")
    if failed:
        raise SeedError(f"{failed} of {sum(outcomes.values())} entries failed: {dict(outcomes)}")
    return outcomes


def _diagnostics(body) -> str:
    """The first issue's diagnostics of an OperationOutcome answer, cut short, for the error line."""
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        for issue in body.get("issue") or ():
            text = (issue or {}).get("diagnostics")
            if isinstance(text, str) and text:
                return f" ({' '.join(text.split())[:200]})"
    return ""


def summary(bundle: dict) -> str:
    """What the Bundle holds, by resource type ("Patient x3, Condition x3")."""
    kinds = Counter((e.get("resource") or {}).get("resourceType", "?") for e in bundle["entry"])
    return ", ".join(f"{kind} x{n}" for kind, n in kinds.items())
