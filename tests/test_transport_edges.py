"""Issue 21 point 10, against the real `cds-service serve` on loopback with raw sockets: a
Content-Length over the cap is refused from the header at once (by one byte or by a gigabyte),
a request whose headers stall gets a JSON 408 before the close (an idle keep-alive connection is
closed silently), an unknown Transfer-Encoding gets a JSON error, and OPTIONS on a path without a
CORS preflight answers an empty body with no text/html."""

from __future__ import annotations

import json
import socket

import pytest

from tests.support.builders import SERVICE_IDS
from tests.support.gunicorn import served

LIMIT = 1000
READ_TIMEOUT_S = 2
PATH = f"/cds-services/{SERVICE_IDS['order-select']}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transport")
    env = {
        "CDS_AUTH_MODE": "off",
        "CDS_DATABASE_URL": f"sqlite:///{tmp}/cds.sqlite3",
        "CDS_MAX_BODY_BYTES": str(LIMIT),
        "CDS_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        "CDS_LOG_LEVEL": "WARNING",
    }
    with served(env, tmp, workers=1) as (base, _log):
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def _exchange(server, raw: bytes, wait_s: float = READ_TIMEOUT_S + 8) -> bytes:
    """Send `raw`, then read until the server closes (bounded by wait_s)."""
    with socket.create_connection(server, timeout=wait_s) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def _status_and_body(answer: bytes) -> tuple[int, dict | bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body), head
    except ValueError:
        return status, body, head


@pytest.mark.parametrize("over", [1, 10**9])
def test_a_declared_length_over_the_cap_is_refused_from_the_header(server, over):
    raw = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {LIMIT + over}\r\n\r\n"
    ).encode()
    status, body, _ = _status_and_body(_exchange(server, raw))  # the body is never sent
    assert status == 413 and body["error"] == "payload_too_large", body


def test_stalled_headers_get_a_json_408_before_the_close(server):
    status, body, head = _status_and_body(_exchange(server, f"POST {PATH} HTTP/1.1\r\nHost: x\r\n".encode()))
    assert status == 408 and b"application/json" in head and body["message"] == "request headers not received in time"


def test_an_idle_connection_is_closed_without_an_answer(server):
    assert _exchange(server, b"") == b""


@pytest.mark.parametrize(("coding", "expected"), [("foo", 501), ("gzip", 400), ("chunked, foo", 501)])
def test_an_unknown_transfer_coding_gets_a_json_error(server, coding, expected):
    raw = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: {coding}\r\n\r\n"
    status, body, head = _status_and_body(_exchange(server, raw.encode()))
    assert status == expected and b"application/json" in head and isinstance(body, dict), (status, body)


@pytest.mark.parametrize("path", ["/healthz", "/cds-services", "/metrics"])
def test_options_without_a_preflight_is_an_empty_answer_without_html(server, path):
    answer = _exchange(server, f"OPTIONS {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    status, body, head = _status_and_body(answer)
    assert status in (200, 204) and body == b"", answer
    assert b"text/html" not in head.lower() and b"allow: " in head.lower()
