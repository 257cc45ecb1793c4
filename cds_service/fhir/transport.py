"""What keeps one FHIR fetch bounded: its sockets can be cut at the deadline, its bytes are counted.

A read timeout bounds each `recv`, not a whole response: a server that drips a byte a second
never trips it. So every socket a fetch reads from is registered with that fetch's `Fetch`, and
the request thread, when the deadline passes, shuts those sockets down: the blocked read returns
at once, the fetch fails and its pool thread is free again. Decoded bytes (gzip inflated
included) are counted as they arrive, per response and per request, so neither a huge body nor
a gzip bomb is ever held whole.
"""

from __future__ import annotations

import socket
import threading

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()  # the Fetch the running pool thread works for


class TooLarge(Exception):
    """The response (or all responses of one request together) passed its byte cap."""


class Fetch:
    """One fetch job's sockets and the request-wide byte budget it draws on."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.aborted = False

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            aborted = self.aborted
        if aborted:
            _cut(sock)

    def abort(self) -> None:
        """Called from the request thread at the deadline: every read of this fetch ends now."""
        with self._lock:
            self.aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _cut(sock)

    def __enter__(self):
        _current.fetch = self
        return self

    def __exit__(self, *exc):
        _current.fetch = None


def _cut(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def current() -> Fetch | None:
    return getattr(_current, "fetch", None)


class Budget:
    """Decoded bytes all fetches of one request may still read (CDS_FHIR_MAX_REQUEST_BYTES)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> None:
        with self._lock:
            self._used += count
            if self._used > self.limit:
                raise TooLarge(f"FHIR responses for this request passed {self.limit} bytes")


def _watched(cls):
    class Watched(cls):
        def _new_conn(self):  # a new socket: watched before the TLS handshake, which can drip too
            sock = super()._new_conn()
            fetch = current()
            if fetch is not None:
                fetch.watch(sock)
            return sock

        def getresponse(self, *args, **kwargs):  # a kept-alive socket, reused by this fetch
            fetch = current()
            if fetch is not None and self.sock is not None:
                fetch.watch(self.sock)
            return super().getresponse(*args, **kwargs)

    Watched.__name__ = f"Watched{cls.__name__}"
    return Watched


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _watched(HTTPConnection)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _watched(HTTPSConnection)


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections register their socket with the running Fetch."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def read_capped(response, limit: int, budget: Budget | None) -> bytes:
    """The decoded body, refusing it once it passes `limit` bytes or the request's budget.

    Chunks are kept in a list and joined once: a growing buffer would be copied on every
    reallocation, doubling the peak memory of a large body."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
        raise TooLarge(f"FHIR response larger than {limit} bytes")
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if budget is not None:
            budget.take(len(chunk))
        if size > limit:
            raise TooLarge(f"FHIR response larger than {limit} bytes")
    return b"".join(chunks)
