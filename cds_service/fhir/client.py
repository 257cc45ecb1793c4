"""Reads from the EHR's FHIR server on behalf of one CDS request.

Every call carries the request's bearer token (never stored or logged), is bounded by a per-call
timeout and by the request's overall deadline, and runs concurrently with its siblings so that
fetching N keys costs about one round trip, not N.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ALL_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urljoin

import orjson
import requests
from requests.adapters import HTTPAdapter

from .. import metrics


class FetchFailed(Exception):
    """A FHIR read could not produce usable data; `reason` is safe to log (no token, no ids)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    resource: dict | None  # None: the server says there is no such resource (read answered 404)
    pages: int = 1
    truncated: bool = False


def _page(bundle: dict) -> tuple[list, str | None]:
    """A Bundle page's entries and its next URL; a page not shaped like a Bundle is a failed fetch."""
    entries, links = bundle.get("entry") or [], bundle.get("link") or []
    if not isinstance(entries, list) or not isinstance(links, list) or not all(isinstance(x, dict) for x in links):
        raise FetchFailed("malformed Bundle page")
    nxt = next((link.get("url") for link in links if link.get("relation") == "next"), None)
    if nxt is not None and not isinstance(nxt, str):
        raise FetchFailed("malformed next link")
    return list(entries), nxt


def same_server(url: str, base: str) -> bool:
    """A next link may only lead back to the server the client named (no open redirect / SSRF)."""
    return url.startswith(base.rstrip("/") + "/")


class FhirClient:
    """A pooled HTTP client shared by all requests in one worker process."""

    def __init__(self, timeout_s: float, max_pages: int, max_workers: int = 16):
        self.timeout_s = timeout_s
        self.max_pages = max_pages
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fhir")
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # never route patient data through an ambient proxy
            session.mount("http://", HTTPAdapter(pool_maxsize=8, max_retries=0))
            session.mount("https://", HTTPAdapter(pool_maxsize=8, max_retries=0))
            self._local.session = session
        return session

    def _get(self, url: str, token: str | None, deadline: float, is_read: bool) -> dict | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("deadline passed")
        headers = {"Accept": "application/fhir+json, application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = min(self.timeout_s, remaining)
        try:
            response = self._session().get(url, headers=headers, timeout=(timeout, timeout), allow_redirects=False)
        except requests.Timeout:
            raise FetchFailed("timeout") from None
        except requests.RequestException as exc:
            raise FetchFailed(f"connection error ({type(exc).__name__})") from None
        if response.status_code == 404 and is_read:
            return None
        if response.status_code != 200:
            raise FetchFailed(f"HTTP {response.status_code}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise FetchFailed("response is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FetchFailed("response is not a FHIR resource")
        if body["resourceType"] == "OperationOutcome":
            raise FetchFailed("server answered with an OperationOutcome")
        return body

    def read(self, relative: str, base: str, token: str | None, deadline: float) -> Fetched:
        """GET one template's URL and, for a search, follow `next` links up to the page cap."""
        url = urljoin(base.rstrip("/") + "/", relative)
        is_read = "?" not in relative
        body = self._get(url, token, deadline, is_read)
        if body is None or body["resourceType"] != "Bundle":
            return Fetched(body)
        return self.complete_pages(body, base, token, deadline)

    def binary(self, url: str, base: str, token: str | None, deadline: float) -> Fetched:
        """GET a Binary (a report attachment's url, relative or absolute on the named server only)."""
        full = url if url.startswith(("http://", "https://")) else urljoin(base.rstrip("/") + "/", url)
        if not same_server(full, base):
            raise FetchFailed("Binary is not on the named FHIR server")
        body = self._get(full, token, deadline, is_read=True)
        if body is None or body["resourceType"] != "Binary":
            raise FetchFailed("not a Binary")
        return Fetched(body)

    def complete_pages(self, bundle: dict, base: str, token: str | None, deadline: float) -> Fetched:
        """Follow a searchset's `next` links (same server only), merging entries into one Bundle."""
        entries, nxt = _page(bundle)
        pages = 1
        while nxt:
            if not same_server(nxt, base):
                raise FetchFailed("next page is not on the named FHIR server")
            if pages >= self.max_pages:
                links = [link for link in bundle.get("link") or () if link.get("relation") != "next"]
                return Fetched({**bundle, "entry": entries, "link": links}, pages, truncated=True)
            current = self._get(nxt, token, deadline, is_read=False)
            if current is None or current.get("resourceType") != "Bundle":
                raise FetchFailed("next page is not a Bundle")
            more, nxt = _page(current)
            entries.extend(more)
            pages += 1
        if pages == 1:
            return Fetched(bundle)
        merged = {k: v for k, v in bundle.items() if k != "link"}
        merged["entry"] = entries
        return Fetched(merged, pages)

    def gather(self, jobs: dict, deadline: float) -> dict:
        """Run every job (a no-argument callable returning Fetched) at once.

        Returns key -> Fetched or FetchFailed; a job not finished by the deadline is a FetchFailed.
        """
        futures = {key: self._pool.submit(job) for key, job in jobs.items()}
        wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()), return_when=ALL_COMPLETED)
        results: dict = {}
        for key, future in futures.items():
            if not future.done():
                future.cancel()
                results[key] = FetchFailed("deadline passed")
                continue
            try:
                results[key] = future.result()
            except FetchFailed as exc:
                results[key] = exc
        metrics.count_fhir_fetches(results.values())
        return results
