"""A FHIR server stand-in that misbehaves on purpose, one way per base URL: `server.base_for(fault)`.

Faults: hang (never answers), drip (status line and headers a byte at a time), slowbody (headers
at once, then the body a byte at a time), huge (a 200 MB JSON body; hugestream: the same without
Content-Length, ended by closing the connection), gzip (a gzip bomb: about 1 MB on the wire,
1 GiB inflated), redirect (302 to a healthy-looking URL), crosshost (a searchset whose `next`
link names another host), loop (a `next` link back to the same page), html (an HTML page with
status 200). Every other path answers like a small, healthy server.
"""

from __future__ import annotations

import gzip
import json
import select
import threading
import time
from functools import lru_cache
from urllib.parse import urlsplit

from tests.support.servers import LoopbackHTTP, QuietHandler

FAULTS = ("hang", "drip", "slowbody", "huge", "hugestream", "gzip", "redirect", "crosshost", "loop", "html")
HUGE_BYTES = 200 * 1024 * 1024
BOMB_BYTES = 1024 * 1024 * 1024


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """1 GiB of spaces inside a JSON string, as about 1 MB of gzip: one compressed MiB repeated as
    concatenated gzip members (RFC 1952 allows several; decoders must read them all)."""
    block = gzip.compress(b" " * (1024 * 1024), compresslevel=9)
    return (
        gzip.compress(b'{"resourceType": "Bundle", "type": "searchset", "x": "')
        + block * (BOMB_BYTES // (1024 * 1024))
        + gzip.compress(b'"}')
    )


def _searchset(next_url: str | None = None) -> bytes:
    doc: dict = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    if next_url:
        doc["link"] = [{"relation": "next", "url": next_url}]
    return json.dumps(doc).encode()


class FaultyFhir(LoopbackHTTP):
    def __init__(self, drip_interval_s: float = 0.2):
        self.stop = threading.Event()  # ends hanging and dripping answers when the test is done
        self.hang_closed_after: list[float] = []  # how long each hung request's client kept its socket
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                try:
                    server._answer(self, drip_interval_s)
                except OSError:  # the service cut the connection: that is the point of most faults
                    self.close_connection = True

        super().__init__(Handler)
        gzip_bomb()  # made before any request can ask for it

    def base_for(self, fault: str) -> str:
        return f"{self.base}/{fault}/fhir"

    def __exit__(self, *exc):
        self.stop.set()
        return super().__exit__(*exc)

    def _send(self, handler, status: int, body: bytes, content_type="application/fhir+json", **headers) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    def _drip(self, handler, data: bytes, interval_s: float) -> None:
        for i in range(len(data)):
            if self.stop.wait(interval_s):
                return
            handler.wfile.write(data[i : i + 1])
            handler.wfile.flush()

    def _hang(self, handler) -> None:
        """Never answer; note when the client gives up (its socket reads as closed)."""
        started = time.monotonic()
        while not self.stop.is_set():
            readable, _, _ = select.select([handler.connection], [], [], 0.05)
            if readable and not handler.connection.recv(1):
                with self._lock:
                    self.hang_closed_after.append(time.monotonic() - started)
                handler.close_connection = True
                return

    def _huge(self, handler, declared: bool) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/fhir+json")
        if declared:
            handler.send_header("Content-Length", str(HUGE_BYTES))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        prefix = b'{"resourceType": "Bundle", "type": "searchset", "x": "'
        handler.wfile.write(prefix)
        block, left = b"a" * (1024 * 1024), HUGE_BYTES - len(prefix) - 2
        while left > 0 and not self.stop.is_set():
            handler.wfile.write(block if left >= len(block) else block[:left])
            left -= len(block)
        handler.wfile.write(b'"}')

    def _answer(self, handler, interval_s: float) -> None:
        path = urlsplit(handler.path).path
        fault = path.strip("/").split("/", 1)[0]
        page = self.base + handler.path
        if fault == "hang":
            self._hang(handler)
        elif fault == "drip":
            body = _searchset()
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n"
                + "X-Padding: "
                + "a" * 200
                + "\r\n\r\n"
            ).encode()
            self._drip(handler, head + body, interval_s)
        elif fault == "slowbody":
            body = _searchset()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/fhir+json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            self._drip(handler, body, interval_s)
        elif fault in ("huge", "hugestream"):
            self._huge(handler, declared=fault == "huge")
        elif fault == "gzip":
            self._send(handler, 200, gzip_bomb(), Content_Encoding="gzip")
        elif fault == "redirect":
            self._send(handler, 302, b"", Location=self.base + "/ok/fhir/Condition?patient=p1")
        elif fault == "crosshost":
            self._send(handler, 200, _searchset(page.replace("127.0.0.1", "localhost")))
        elif fault == "loop":
            self._send(handler, 200, _searchset(page))
        elif fault == "html":
            self._send(handler, 200, b"<html><body>Service Unavailable</body></html>", "text/html")
        else:
            self._send(handler, 200, _searchset())
