"""Fetching a client's JWK Set from its registered `jku`, bounded as a whole.

A per-read timeout does not bound a fetch: a key URL that sends one byte every second never
trips a 3 s read timeout and held requests for a minute. Here one deadline covers connecting,
the TLS handshake, the headers and the body; a watchdog shuts the socket when it passes, so no
blocking read outlives it, and the body is read in pieces under a byte cap. The standard
library's http.client is used because it hands us the socket before the headers are read.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

MAX_JWKS_BYTES = 256 * 1024
_CHUNK = 16 * 1024


class KeyUnavailable(Exception):
    """The key set could not be obtained (network, file or format); the message is safe to log."""


def _tls_context() -> ssl.SSLContext:
    """Certificate verification against the CA bundle `requests` uses for FHIR calls, so trust is
    the same for both and does not depend on the image shipping system CA certificates."""
    from requests.certs import where  # type: ignore[attr-defined]  # types-requests omits this re-export of certifi.where

    return ssl.create_default_context(cafile=where())


def _shut(conn: http.client.HTTPConnection) -> None:
    """Watchdog: unblock a read in progress on this connection (close() alone does not)."""
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _read_body(response: http.client.HTTPResponse, deadline: float, max_bytes: int, clock) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        if clock() >= deadline:
            raise KeyUnavailable("JWKS URL too slow (fetch deadline passed)")
        chunk = response.read1(_CHUNK)
        if not chunk:
            if clock() >= deadline:  # the watchdog shut the socket
                raise KeyUnavailable("JWKS URL too slow (fetch deadline passed)")
            if response.length:  # the declared Content-Length never arrived
                raise KeyUnavailable("JWKS document truncated (connection closed early)")
            return b"".join(parts)
        size += len(chunk)
        if size > max_bytes:
            raise KeyUnavailable("JWKS document is too large")
        parts.append(chunk)


def fetch_jwks_url(url: str, timeout_s: float, *, max_bytes: int = MAX_JWKS_BYTES, clock=time.monotonic) -> dict:
    """GET the registered JWK Set URL: no redirects (they could lead anywhere), no proxies, identity
    encoding, `timeout_s` for the whole exchange, `max_bytes` for the body. Raises KeyUnavailable."""
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None  # the registry accepts only jku URLs with a host (clients._check_jku)
    deadline = clock() + timeout_s
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout_s, context=_tls_context()
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout_s)
    watchdog = threading.Timer(timeout_s, _shut, (conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(
            "GET",
            path,
            headers={
                "Accept": "application/json, application/jwk-set+json",
                "Accept-Encoding": "identity",
                "User-Agent": "cds-service",
            },
        )
        response = conn.getresponse()
        if response.status != 200:
            raise KeyUnavailable(f"JWKS URL answered HTTP {response.status}")
        body = _read_body(response, deadline, max_bytes, clock)
    except KeyUnavailable:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if clock() >= deadline:  # the watchdog cut it off
            raise KeyUnavailable("JWKS URL too slow (fetch deadline passed)") from None
        raise KeyUnavailable(f"JWKS URL unreachable or broken ({type(exc).__name__})") from None
    finally:
        watchdog.cancel()
        conn.close()
    try:
        return json.loads(body)
    except ValueError:
        raise KeyUnavailable("JWKS document is not JSON (truncated or garbage)") from None
