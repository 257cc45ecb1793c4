"""Graceful drain of a replica (`cds-service serve`) on SIGTERM, as an orchestrator stops it: a call
in flight is answered and its card recorded before the process exits; a connection accepted before
the signal whose request arrives after it is answered, not cut; a kept-alive connection idle at the
signal is closed at once, so the replica does not wait out its keep-alive time."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time

import requests

from tests.support.builders import SERVICE_IDS
from tests.support.cases import case_request
from tests.support.replicas import Replica
from tests.support.servers import FhirStandIn

TOKEN = "drain-fhir-token"


def _replica(tmp_path, **env) -> Replica:
    replica = Replica(
        "drain",
        {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3", **env},
        tmp_path,
        workers=1,
    )
    replica.start()
    replica.wait_ready()
    return replica


def _wait(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_call_in_flight_at_sigterm_is_answered_and_its_card_recorded(tmp_path):
    body = case_request("adult-left-coded-conclusion-mri.json")
    patient = body["prefetch"].pop("patient")  # fetched from the FHIR server, which takes its time
    with FhirStandIn(token=TOKEN, delay_s=1.5) as fhir:
        fhir.routes[f"Patient/{patient['id']}"] = patient
        body.update(fhirServer=fhir.url, fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer"})
        replica = _replica(tmp_path, CDS_READ_TIMEOUT_S="60")  # what keeping the connection open would cost
        try:
            with requests.Session() as session:  # kept open until the replica has exited
                session.trust_env = False
                answers: list = []
                caller = threading.Thread(
                    target=lambda: answers.append(
                        session.post(f"{replica.url}/cds-services/{SERVICE_IDS['order-select']}", json=body, timeout=30)
                    )
                )
                caller.start()
                _wait(lambda: fhir.paths())  # the call is in flight: waiting on the FHIR server
                replica.proc.send_signal(signal.SIGTERM)
                caller.join(30)
                answered = time.monotonic()
                replica.proc.wait(40)
                exited = time.monotonic() - answered
        finally:
            replica.close()
    [answer] = answers
    assert answer.status_code == 200
    [card] = answer.json()["cards"]
    # the answered connection was closed, not held for its keep-alive time (nor the drain's 20 s)
    assert exited < 15, f"exited {exited:.1f} s after answering"
    with sqlite3.connect(tmp_path / "cds.sqlite3") as db:  # written by the worker on its way out
        assert db.execute("SELECT COUNT(*) FROM cds_card WHERE uuid = ?", (card["uuid"],)).fetchone()[0] == 1


def test_a_connection_open_at_sigterm_whose_request_comes_after_is_answered(tmp_path):
    replica = _replica(tmp_path)
    try:
        port = int(replica.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            time.sleep(0.3)  # accepted by the worker (it is idle): a balancer's new connection
            replica.proc.send_signal(signal.SIGTERM)
            time.sleep(0.6)  # the worker has seen the signal and closed its idle connections
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: cds\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        replica.proc.wait(40)
    finally:
        replica.close()


def test_a_kept_alive_connection_idle_at_sigterm_is_closed_and_the_replica_exits_promptly(tmp_path):
    replica = _replica(tmp_path, CDS_READ_TIMEOUT_S="60")  # what holding the connection would cost
    try:
        port = int(replica.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: cds\r\n\r\n")
            assert _one_response(conn).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            replica.proc.send_signal(signal.SIGTERM)
            assert conn.recv(65536) == b""  # closed by the replica, not by the client
            replica.proc.wait(40)
            assert time.monotonic() - started < 30, "the replica waited on an idle keep-alive connection"
    finally:
        replica.close()


def _one_response(conn) -> bytes:
    """Exactly one HTTP response (headers, then Content-Length bytes of body) off a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body
