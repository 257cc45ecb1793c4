"""Clients that send their request a byte at a time (slowloris), on real sockets, in one thread.

Half of them are still sending headers, half have sent headers announcing a body and drip the
body; all send one more byte every `interval_s` from a single background thread, so the test
process itself stays light. `timed` measures one ordinary call meanwhile.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from urllib.parse import urlsplit


class SlowClients:
    def __init__(self, url: str, count: int = 64, interval_s: float = 0.5):
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.count, self.interval_s = count, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._sockets: list[tuple[socket.socket, bytes]] = []
        self.still_open = 0  # how many were still sending at the last byte

    @staticmethod
    def _request(i: int) -> bytes:
        if i % 2:
            body = b'{"hook": "order-select"' + b" " * 4000 + b"}"
            return (
                b"POST /cds-services/flank-mass-imaging-order-select HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
        return b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 4000 + b"\r\n\r\n"

    def __enter__(self):
        for i in range(self.count):
            sock = socket.create_connection(self.address, timeout=5)
            data = self._request(i)
            head_end = data.index(b"\r\n\r\n") + 4
            if i % 2:  # the body drips: send the headers at once
                sock.sendall(data[:head_end])
                data = data[head_end:]
            self._sockets.append((sock, data))
        self._thread.start()
        return self

    def _drip(self) -> None:
        position = 0
        while not self._stop.wait(self.interval_s):
            open_now = 0
            for sock, data in self._sockets:
                if position < len(data):
                    try:
                        sock.send(data[position : position + 1])
                        open_now += 1
                    except OSError:
                        pass
            self.still_open = open_now
            position += 1

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        for sock, _ in self._sockets:
            sock.close()


def timed(url: str, method: str = "GET", body: bytes | None = None, timeout_s: float = 5.0) -> tuple[float, int]:
    """Seconds one call takes on a fresh connection, and its status (0 when it timed out)."""
    parts = urlsplit(url)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, parts.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return time.perf_counter() - started, response.status
    except TimeoutError:
        return time.perf_counter() - started, 0
    finally:
        conn.close()
