"""Replicas behind a real HAProxy on loopback, sharing the real PostgreSQL and Redis (issue 22).

`make scale-test` runs the long form and writes bench/results/scale-<time>.json; the test
suite (tests/test_replicas.py) runs the same scenarios short and asserts on what they return:

- start-up: three replicas started at the same moment against an empty schema (who migrated);
- kill: under load at concurrency 32 with distinct patients, kill -9 one replica; the failed calls
  (and whether each was in flight on that replica), the time until none fail;
- rolling restart: SIGTERM each replica in turn, start it again, wait until HAProxy has it back;
- acknowledged feedback found in the database afterwards; issued cards recorded;
- a JWT replayed to another replica; a card overridden through one replica, asked on the others;
- latency: p50/p99 through the balancer against one replica direct.

Every call is signed by a client whose key is made here; patients are new on every call.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

from tests.support.builders import SERVICE_IDS
from tests.support.cases import case_request
from tests.support.databases import postgres_url, redis_url
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients
from tests.support.replicas import Balancer, Replica

ISS = "https://ehr-scale.example.org/fhir"
OTHER_ISS = "https://ehr-other.example.org/fhir"  # another EHR, another tenant: its patient ids are its own
SECRET = "scale-test-suppression-secret-0123456789"
SELECT = SERVICE_IDS["order-select"]
CASE = "adult-left-coded-conclusion-mri.json"
CASE_PATIENT = "pat-a1"
OK = {200}


@dataclass
class Call:
    rid: str
    started: float
    ended: float = 0.0
    status: int | None = None  # None: the connection failed (reset, refused) before an answer
    cards: list = field(default_factory=list)
    feedback_for: str | None = None  # a feedback call: the card it reports on
    refused: bool = False  # a feedback call answered 200 whose item the service refused (not stored)
    error: str | None = None  # why the connection failed, when it did

    @property
    def failed(self) -> bool:
        return self.status not in OK


class Client:
    """A CDS client (an EHR): its key, registered with every replica, signs a fresh JWT per call."""

    def __init__(self, public_base: str, iss: str = ISS, tenant: str = "hospital-1"):
        self.signer = Signer("ES384")
        self.base, self.iss, self.tenant = public_base, iss, tenant
        self.template = json.dumps(case_request(CASE))

    def entry(self) -> dict:
        """Its registration in the trusted-clients file."""
        return {"iss": self.iss, "tenant": self.tenant, "jwks": jwks(self.signer)}

    def body(self, patient: str) -> bytes:
        text = self.template.replace(CASE_PATIENT, patient)
        body = json.loads(text)
        body["hookInstance"] = str(uuid.uuid4())
        return json.dumps(body).encode()

    def headers(self, path: str, rid: str) -> dict:
        return {
            "Content-Type": "application/json",
            "X-Request-ID": rid,
            **bearer(self.signer.token(self.iss, self.base + path)),
        }


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


class Load:
    """`concurrency` keep-alive clients calling order-select through `url` until stopped, each call a
    new patient; every `feedback_every`-th card shown is reported as accepted (CDS Hooks feedback)."""

    def __init__(self, client: Client, url: str, concurrency: int, feedback_every: int = 4):
        self.client, self.url, self.concurrency, self.feedback_every = client, url, concurrency, feedback_every
        self.calls: list[Call] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.concurrency)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def wait_calls(self, count: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.calls) < count:
            assert time.monotonic() < deadline, f"only {len(self.calls)} of {count} calls in {timeout_s} s"
            time.sleep(0.05)

    def _run(self, n: int) -> None:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        shown = 0
        path = f"/cds-services/{SELECT}"
        while not self._stop.is_set():
            call = self._call(conn, path, self.client.body(f"scale-{uuid.uuid4().hex[:16]}"))
            if call.status is None:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            for card in call.cards:
                shown += 1
                if shown % self.feedback_every == 0:
                    feedback = self._call(conn, path + "/feedback", _accepted(card), card["uuid"])
                    if feedback.status is None:
                        conn.close()
                        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.close()

    def _call(self, conn, path: str, body: bytes, feedback_for: str | None = None) -> Call:
        call = Call(rid=uuid.uuid4().hex, started=time.monotonic(), feedback_for=feedback_for)
        try:
            call.status, raw = _post(conn, path, body, self.client.headers(path, call.rid))
            if call.status == 200 and feedback_for is None:
                call.cards = json.loads(raw)["cards"]
            elif call.status == 200:
                answer = json.loads(raw)
                if answer.get("received") != 1:
                    call.status = -1  # acknowledged something other than the one item sent
                call.refused = bool(answer.get("refused"))  # e.g. a card not recorded yet: not acknowledged
            else:
                call.error = raw[:300].decode("utf-8", "replace")  # the service's (or the balancer's) reason
        except (OSError, http.client.HTTPException) as exc:
            call.status, call.error = None, type(exc).__name__
        call.ended = time.monotonic()
        with self._lock:
            self.calls.append(call)
        return call


def _accepted(card: dict) -> bytes:
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:00:00Z"}
    suggestions = [s["uuid"] for s in card.get("suggestions", []) if s.get("uuid")]
    if suggestions:
        item["acceptedSuggestions"] = [{"id": suggestions[0]}]
    return json.dumps({"feedback": [item]}).encode()


def _percentiles(*rounds: list[Call]) -> dict:
    """p50 / p99 of the calls answered 200, and calls per second over the time each round spanned."""
    ordered = sorted(x.ended - x.started for calls in rounds for x in calls if not x.failed)
    if not ordered:
        return {"calls": 0}
    pick = lambda p: round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)  # noqa: E731
    span = sum(max(x.ended for x in calls) - min(x.started for x in calls) for calls in rounds if calls)
    return {
        "calls": len(ordered),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "callsPerSecond": round(sum(len(calls) for calls in rounds) / span, 1),
    }


class Cluster:
    """Three (or more) replicas, one HAProxy, one PostgreSQL schema and Redis, one trusted client."""

    def __init__(self, directory: Path, database_url: str, redis: str, replicas: int = 3, workers: int = 1):
        self.directory, self.database_url = directory, database_url
        names = [f"r{n + 1}" for n in range(replicas)]
        self.replicas: dict[str, Replica] = {}
        # ports first: the balancer's URL is every replica's public base (the JWT aud)
        placeholders = {name: Replica(name, {}, directory, workers) for name in names}
        self.balancer = Balancer(directory, {name: r.port for name, r in placeholders.items()})
        self.client = Client(self.balancer.url)
        self.other = Client(self.balancer.url, OTHER_ISS, "hospital-2")
        site = directory / "site.json"
        site.write_text(json.dumps({"suppression": {"enabled": True, "hours": 24}}))
        env = {
            "CDS_AUTH_MODE": "required",
            "CDS_PUBLIC_BASE_URL": self.balancer.url,
            "CDS_TRUSTED_CLIENTS": write_clients(directory, [self.client.entry(), self.other.entry()]),
            "CDS_DATABASE_URL": database_url,
            "CDS_REDIS_URL": redis,
            "CDS_SITE_CONFIG": str(site),
            "CDS_SUPPRESSION_SECRET": SECRET,
            "CDS_LOG_LEVEL": "INFO",
        }
        for name, replica in placeholders.items():
            replica.env = env
            self.replicas[name] = replica

    def start(self) -> dict:
        """Every replica at the same moment against the (empty) schema, then the balancer."""
        started = time.monotonic()
        for replica in self.replicas.values():
            replica.start()
        ready = {name: round(r.wait_ready(), 2) for name, r in self.replicas.items()}
        self.balancer.start()
        for name in self.replicas:
            self.balancer.wait_status(name, "UP")
        return {"secondsToReady": ready, "secondsAllUp": round(time.monotonic() - started, 2)}

    def close(self) -> None:
        for replica in self.replicas.values():
            replica.close()
        self.balancer.stop()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def migrations(self) -> dict:
        """Who applied which schema version: the "schema migrated" lines of every replica's logs."""
        applied = []
        for replica in self.replicas.values():
            for path in sorted(self.directory.glob(f"{replica.name}-*.log")):
                for line in path.read_text(errors="replace").splitlines():
                    if '"schema migrated"' in line:
                        applied.append({"replica": replica.name, "versions": json.loads(line)["versions"]})
        rows = self.query("SELECT version FROM schema_migrations ORDER BY version")
        return {"appliedBy": applied, "versionsInDatabase": [r[0] for r in rows]}


@contextmanager
def cluster(directory: Path, replicas: int = 3, workers: int = 1):
    """A started Cluster on a fresh PostgreSQL schema; everything stopped afterwards."""
    with ExitStack() as stack:
        database = stack.enter_context(postgres_url())
        made = Cluster(directory, database, redis_url(), replicas, workers)
        stack.callback(made.close)
        made.startup = made.start()
        yield made


def kill_under_load(c: Cluster, victim: str, concurrency: int, before: int, after_s: float) -> dict:
    """kill -9 `victim` after `before` calls; keep the load on for `after_s` more seconds; restart it."""
    with Load(c.client, c.balancer.url, concurrency) as load:
        load.wait_calls(before)
        in_flight = c.balancer.servers()[victim]["sessions"]
        queued = _queued_records(c.replicas[victim])
        killed_at = time.monotonic()
        c.replicas[victim].kill()
        down_after = c.balancer.wait_status(victim, "DOWN")
        time.sleep(max(0.0, after_s - (time.monotonic() - killed_at)))
    calls = list(load.calls)
    routed = c.balancer.log()
    failed = [x for x in calls if x.failed]
    c.replicas[victim].start()
    c.replicas[victim].wait_ready()
    c.balancer.wait_status(victim, "UP")
    return {
        "calls": len(calls),
        "failed": len(failed),
        "failedStatuses": _counts(x.status for x in failed),
        "answered": _percentiles(calls),
        "inFlightOnVictimAtKill": in_flight,
        "cardRecordsQueuedOnVictimAtKill": queued,
        # a failed call was in flight on the killed replica: sent before the kill, and HAProxy either
        # had it on that replica or re-sent it from there (a retry: the other replica refused the
        # JWT the killed one had already accepted)
        "failedNotInFlightOnVictim": sum(
            1
            for x in failed
            if x.started > killed_at
            or (routed.get(x.rid, {}).get("server") != victim and routed.get(x.rid, {}).get("retries", "0") == "0")
        ),
        "secondsUntilNoneFail": round(max((x.ended for x in failed), default=killed_at) - killed_at, 3),
        "secondsUntilMarkedDown": round(down_after, 3),
        "retriedByBalancer": sum(1 for x in calls if routed.get(x.rid, {}).get("retries", "0") != "0"),
        "_calls": calls,
    }


def _queued_records(replica: Replica) -> float | None:
    """The replica's issued-card records not yet written (its cds_ledger_queue_depth metric)."""
    for line in requests.get(replica.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("cds_ledger_queue_depth "):
            return float(line.split()[1])
    return None


def rolling_restart(c: Cluster, concurrency: int, before: int) -> dict:
    """SIGTERM each replica in turn under load, start it again, wait until HAProxy has it back."""
    steps = []
    with Load(c.client, c.balancer.url, concurrency) as load:
        load.wait_calls(before)
        for name, replica in c.replicas.items():
            in_flight = c.balancer.servers()[name]["sessions"]
            exited = replica.stop()
            replica.start()
            ready = replica.wait_ready()
            back = c.balancer.wait_status(name, "UP")
            steps.append(
                {
                    "replica": name,
                    "inFlightAtSigterm": in_flight,
                    "secondsToExit": round(exited, 2),
                    "secondsToReady": round(ready, 2),
                    "secondsToUpInBalancer": round(back, 2),
                }
            )
            load.wait_calls(len(load.calls) + before // 2)  # traffic on the restarted replica before the next
    calls = list(load.calls)
    failed = [x for x in calls if x.failed]
    return {
        "calls": len(calls),
        "failed": len(failed),
        "failedStatuses": _counts(x.status for x in failed),
        "answered": _percentiles(calls),
        "steps": steps,
        "_calls": calls,
    }


def _counts(values) -> dict:
    out: dict[str, int] = {}
    for value in values:
        out[str(value)] = out.get(str(value), 0) + 1
    return out


def records(c: Cluster, calls: list[Call], wait_s: float = 0.0) -> dict:
    """Acknowledged feedback and shown cards of `calls`, looked up in the shared database; with
    `wait_s`, looked up again (bounded) while some card is missing: running replicas write their
    queued card records within moments."""
    acked = {x.feedback_for for x in calls if x.feedback_for and x.status == 200 and not x.refused}
    cards = {card["uuid"] for x in calls if x.status == 200 for card in x.cards}
    deadline = time.monotonic() + wait_s
    while True:
        stored = {r[0] for r in c.query("SELECT DISTINCT card_uuid FROM cds_feedback")}
        recorded = {r[0] for r in c.query("SELECT uuid FROM cds_card")}
        if not (cards - recorded) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {
        "feedbackAcknowledged": len(acked),
        "feedbackRefused": sum(1 for x in calls if x.refused),
        "feedbackLost": len(acked - stored),
        "cardsShown": len(cards),
        "cardsNotRecorded": len(cards - recorded),
    }


def replay_across_replicas(c: Cluster) -> dict:
    """One token, sent to each replica directly in turn: accepted once, refused by the others."""
    path = f"/cds-services/{SELECT}"
    headers = c.client.headers(path, uuid.uuid4().hex)
    body = c.client.body(f"replay-{uuid.uuid4().hex[:12]}")
    return {
        name: requests.post(r.url + path, data=body, headers=headers, timeout=30).status_code
        for name, r in c.replicas.items()
    }


def suppression_across_replicas(c: Cluster) -> dict:
    """A card shown through the first replica and overridden (with a reason the card offers) through
    the second; the same patient's next order-select asked of every replica, by the same client and
    by another EHR (another tenant) whose patient has the same id: the override is the first
    client's alone (suppression is keyed by issuer and tenant as well as patient)."""
    path = f"/cds-services/{SELECT}"
    names = list(c.replicas)
    patient = f"suppress-{uuid.uuid4().hex[:12]}"
    first = c.replicas[names[0]]

    def ask(replica: Replica, client: Client) -> list[str]:
        response = requests.post(
            replica.url + path,
            data=client.body(patient),
            headers=client.headers(path, uuid.uuid4().hex),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return [card["uuid"] for card in response.json()["cards"]]

    response = requests.post(
        first.url + path, data=c.client.body(patient), headers=c.client.headers(path, uuid.uuid4().hex), timeout=30
    )
    [card] = response.json()["cards"]
    _wait_recorded(c, card["uuid"])  # the clinician answers after the card was recorded, as in life
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-20T10:00:00Z",
        "overrideReason": {"reason": card["overrideReasons"][0]},
    }
    second = c.replicas[names[1]]
    feedback = requests.post(
        second.url + path + "/feedback",
        data=json.dumps({"feedback": [item]}),
        headers=c.client.headers(path + "/feedback", uuid.uuid4().hex),
        timeout=30,
    )
    return {
        "overriddenVia": second.name,
        "feedbackStatus": feedback.status_code,
        "cardsAfter": {name: len(ask(r, c.client)) for name, r in c.replicas.items()},
        "otherTenantCardsAfter": {name: len(ask(r, c.other)) for name, r in c.replicas.items()},
    }


def _wait_recorded(c: Cluster, card_uuid: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not c.query("SELECT 1 FROM cds_card WHERE uuid = %s", (card_uuid,)):
        assert time.monotonic() < deadline, "the card was never recorded"
        time.sleep(0.05)


def latency(c: Cluster, calls: int, concurrency: int) -> dict:
    """The same calls through the balancer (all replicas) and to the first replica direct, interleaved."""
    direct = next(iter(c.replicas.values())).url
    out: dict[str, list] = {"balancer": [], "direct": []}
    for _ in range(2):
        for side, url in (("balancer", c.balancer.url), ("direct", direct)):
            with Load(c.client, url, concurrency, feedback_every=10**9) as load:
                load.wait_calls(calls // 2)
            out[side].append(list(load.calls))
    return {side: _percentiles(*rounds) for side, rounds in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per replica")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--calls", type=int, default=3000, help="calls before the kill (and per restart step x2)")
    parser.add_argument("--after", type=float, default=20.0, help="seconds of load after the kill")
    args = parser.parse_args(argv)
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    results: dict = {"conditions": {"cpus": os.cpu_count(), "loadBefore": os.getloadavg()}, "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="cds-scale-") as tmp, cluster(Path(tmp), args.replicas, args.workers) as c:
        results["startup"] = {**c.startup, **c.migrations()}
        results["replay"] = replay_across_replicas(c)
        results["suppression"] = suppression_across_replicas(c)
        results["latency"] = {
            "concurrency 1": latency(c, 600, 1),
            f"concurrency {args.concurrency}": latency(c, args.calls, args.concurrency),
        }
        kill = kill_under_load(c, "r2", args.concurrency, args.calls, args.after)
        rolling = rolling_restart(c, args.concurrency, args.calls // 2)
        for replica in c.replicas.values():  # graceful: every queued record written before the check
            replica.stop()
        for name, found in (("kill", kill), ("rolling", rolling)):
            calls = found.pop("_calls")
            results[name] = {**found, **records(c, calls)}
    results["conditions"]["loadAfter"] = os.getloadavg()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"scale-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
