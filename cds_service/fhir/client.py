"""Reads from the EHR's FHIR server on behalf of one CDS request.

Every call carries the request's bearer token (never stored or logged), is bounded by a per-call
timeout and by the request's overall deadline, and runs concurrently with its siblings so that
fetching N keys costs about one round trip, not N. At the deadline, unfinished fetches are cut
(their sockets shut down, see transport.py), so a dripping server keeps no pool thread past it;
each FHIR server may have at most `max_per_server` fetches in flight per worker process, so one
slow server cannot take the capacity every other server's requests need.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import ALL_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from .. import metrics
from .templates import resource_type
from .transport import Budget, Fetch, TooLarge, WatchedAdapter, current, read_capped

MAX_SERVERS_REMEMBERED = 1024  # FHIR base URLs with a slot table kept per worker


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

    def __init__(
        self,
        timeout_s: float,
        max_pages: int,
        max_workers: int = 64,
        max_per_server: int = 16,
        max_response_bytes: int = 8 * 1024 * 1024,
        max_request_bytes: int = 32 * 1024 * 1024,
    ):
        self.timeout_s = timeout_s
        self.max_pages = max_pages
        self.max_per_server = max_per_server
        self.max_response_bytes = max_response_bytes
        self.max_request_bytes = max_request_bytes
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fhir")
        self._local = threading.local()
        self._slots: OrderedDict[str, threading.BoundedSemaphore] = OrderedDict()
        self._slots_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # never route patient data through an ambient proxy
            session.mount("http://", WatchedAdapter(pool_maxsize=8, max_retries=0))
            session.mount("https://", WatchedAdapter(pool_maxsize=8, max_retries=0))
            self._local.session = session
        return session

    def _server_slots(self, base: str) -> threading.BoundedSemaphore:
        """Slots per FHIR base URL, not per origin: multi-tenant FHIR servers put many bases on one
        host and port, and a dripping tenant must not starve the others."""
        parts = urlsplit(base)
        key = f"{parts.scheme}://{parts.netloc}".lower() + parts.path.rstrip("/")
        with self._slots_lock:
            slots = self._slots.get(key)
            if slots is None:
                if len(self._slots) >= MAX_SERVERS_REMEMBERED:  # bounded: the least recently used goes
                    self._slots.popitem(last=False)  # (its fetches in flight release their own object)
                slots = self._slots[key] = threading.BoundedSemaphore(self.max_per_server)
            self._slots.move_to_end(key)
            return slots

    def _get(self, url: str, token: str | None, deadline: float, is_read: bool) -> dict | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("deadline passed")
        headers = {"Accept": "application/fhir+json, application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = min(self.timeout_s, remaining)
        fetch = current()
        raw, failure = self._read(url, headers, timeout, is_read, fetch)
        if failure is not None:
            # raised here, outside any except block: a chained exception would keep the failed
            # read's frames alive (its buffered chunks, up to the response cap) as long as the error
            raise FetchFailed(failure)
        if raw is None:
            return None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise FetchFailed("response is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FetchFailed("response is not a FHIR resource")
        if body["resourceType"] == "OperationOutcome":
            raise FetchFailed("server answered with an OperationOutcome")
        return body

    def _read(self, url: str, headers: dict, timeout: float, is_read: bool, fetch) -> tuple[bytes | None, str | None]:
        """(body, None), (None, None) for a read answered 404, or (None, why it failed)."""
        try:
            with self._session().get(
                url, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
            ) as response:
                if response.status_code == 404 and is_read:
                    return None, None
                if response.status_code != 200:
                    return None, f"HTTP {response.status_code}"
                return read_capped(response, self.max_response_bytes, fetch.budget if fetch else None), None
        except TooLarge as exc:
            return None, str(exc)
        except requests.Timeout:
            return None, "timeout"
        except requests.RequestException as exc:
            if fetch is not None and fetch.aborted:
                return None, "deadline passed"
            return None, f"connection error ({type(exc).__name__})"

    def read(self, relative: str, base: str, token: str | None, deadline: float) -> Fetched:
        """GET one template's URL and, for a search, follow `next` links up to the page cap.

        A search must answer a Bundle and a read the resource type it names: anything else is a
        broken answer (a failed fetch), never "no data"."""
        url = urljoin(base.rstrip("/") + "/", relative)
        is_read = "?" not in relative
        body = self._get(url, token, deadline, is_read)
        if body is None:
            return Fetched(None)
        expected = resource_type(relative) if is_read else "Bundle"
        if body["resourceType"] != expected:
            raise FetchFailed(f"answered {'a read' if is_read else 'a search'} with the wrong resourceType")
        if is_read:
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
        pages, seen = 1, set()
        while nxt:
            if not same_server(nxt, base):
                raise FetchFailed("next page is not on the named FHIR server")
            if nxt in seen:
                raise FetchFailed("next links loop back to a page already read")
            seen.add(nxt)
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

    def gather(self, jobs: dict, deadline: float, server: str | None = None) -> dict:
        """Run every job (a no-argument callable returning Fetched) at once, all against `server`.

        Returns key -> Fetched or FetchFailed; a job not finished by the deadline is a FetchFailed,
        and is cut off there. Each job first takes one of the server's slots (waiting, at most
        until the deadline, in the calling request's own thread, never in a pool thread).
        """
        budget = Budget(self.max_request_bytes)
        slots = self._server_slots(server) if server else None
        running: dict = {}
        results: dict = {}
        for key, job in jobs.items():
            if slots is not None and not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                results[key] = FetchFailed("too many fetches in flight to this FHIR server")
                continue
            fetch = Fetch(budget)
            running[key] = (fetch, self._pool.submit(_run, job, fetch, slots))
        wait([f for _, f in running.values()], timeout=max(0.0, deadline - time.monotonic()), return_when=ALL_COMPLETED)
        for key, (fetch, future) in running.items():
            if not future.done():
                fetch.abort()
                if future.cancel() and slots is not None:  # never started: its slot is still ours
                    slots.release()
                results[key] = FetchFailed("deadline passed")
                continue
            try:
                results[key] = future.result()
            except FetchFailed as exc:
                results[key] = exc
        metrics.count_fhir_fetches(results.values())
        return results


def _run(job, fetch: Fetch, slots):
    try:
        with fetch:
            return job()
    finally:
        if slots is not None:
            slots.release()
