"""The shipped serving setup, `cds-service serve` (gunicorn, gevent workers), over real sockets.

Issue 11 item 1 (slow clients must not stall anyone: the one timing assertion the issue asks
for, taken as the best of several tries because the machine is shared), item 10 (errors found
by the HTTP server itself are JSON too), and issue 10 item 10 (TLS 1.2+ served directly).
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.support.builders import SERVICE_IDS, empty_prefetch, request
from tests.support.gunicorn import served
from tests.support.slow_clients import SlowClients, timed

SELECT = f"/cds-services/{SERVICE_IDS['order-select']}"
TRIES = 7


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serving")
    env = {
        "CDS_AUTH_MODE": "off",
        "CDS_DATABASE_URL": f"sqlite:///{tmp}/cds.sqlite3",
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_READ_TIMEOUT_S": "2",
    }
    with served(env, tmp, workers=2) as (url, _log):
        yield url


def _raw(url: str, data: bytes, timeout_s: float = 5.0, half_close: bool = True) -> bytes:
    """Send bytes as they are and read the whole answer (the server closes after an error)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(data)
        if half_close:  # all sent: the server sees the end of our input
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_json(answer: bytes) -> tuple[int, dict, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body), head


def test_64_slow_clients_do_not_stall_a_hook_call_or_healthz(tmp_path):
    # its own server: the slow clients must still be sending while we measure (default read timeout)
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3", "CDS_LOG_LEVEL": "WARNING"}
    call = json.dumps(request("order-select", prefetch=empty_prefetch())).encode()
    with served(env, tmp_path, workers=2) as (url, _log), SlowClients(url, count=64, interval_s=0.5) as slow:
        time.sleep(1.0)  # every slow connection accepted and part-way through its request
        health = [timed(url + "/healthz") for _ in range(TRIES)]
        hooks = [timed(url + SELECT, "POST", call) for _ in range(TRIES)]
        assert slow.still_open == 64, "the slow clients were still sending while we measured"
    assert {status for _, status in health} == {200} and {status for _, status in hooks} == {200}
    assert min(t for t, _ in health) < 0.1, f"healthz: {sorted(round(t, 3) for t, _ in health)}"
    assert min(t for t, _ in hooks) < 0.1, f"hook call: {sorted(round(t, 3) for t, _ in hooks)}"


def test_headers_that_never_finish_are_cut_off_after_the_read_timeout(server):
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and then nothing more
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(1024):  # a JSON 408 (issue 21 point 10), then the close
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"application/json" in answer
        assert time.monotonic() - started < 2 + 5


def test_a_body_that_does_not_arrive_in_time_is_a_json_408(server):
    answer = _raw(
        server,
        b"POST " + SELECT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{",
        timeout_s=10,
        half_close=False,
    )
    status, body, head = _status_and_json(answer)
    assert status == 408 and body["error"] == "request_timeout"
    assert b"Connection: close" in head


@pytest.mark.parametrize(
    "data, status, error",
    [
        (b"POST /cds-services HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n", 400, "bad_request"),
        (
            b"POST /cds-services HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
            "bad_request",
        ),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n",
            431,
            "headers_too_large",
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
        (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ],
)
def test_errors_found_by_the_http_server_are_json(server, data, status, error):
    answered, body, head = _status_and_json(_raw(server, data))
    assert answered == status
    assert b"Content-Type: application/json" in head
    assert body["error"] == error and body["outcome"]["resourceType"] == "OperationOutcome"
    assert b"aaaa" not in json.dumps(body).encode(), "the request is not echoed back"


def test_a_declared_oversized_body_is_refused_unread_and_the_connection_closed(server):
    """gunicorn ignores an app's `Connection: close`; left open, it would read the 50 MB to reuse it."""
    answer = _raw(
        server,
        b"POST " + SELECT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000000\r\n\r\n{",
        timeout_s=10,
    )
    status, body, head = _status_and_json(answer)
    assert status == 413 and body["error"] == "payload_too_large"
    assert b"Connection: close" in head


def test_a_body_cut_short_by_the_client_is_a_json_400(server):
    answer = _raw(
        server,
        b"POST " + SELECT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{",
        timeout_s=10,
    )
    status, body, _ = _status_and_json(answer)
    assert status == 400 and body["message"] == "request body ended early"
