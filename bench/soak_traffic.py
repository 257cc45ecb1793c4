"""The soak's request mix: valid, malformed and faulty calls, each a (method, path, body, headers) tuple.

Built once with a seeded generator, so two runs send the same mix. Faulty calls name a FHIR
server stand-in (FaultyFhir) whose answer is chosen by the patient id: slow, hanging past the
deadline, garbage, an error status, not FHIR, or a closed port; none of them may become a 5xx.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import threading
import time

import orjson

from tests.support.mutation import mutate
from tests.support.servers import LoopbackHTTP, QuietHandler

from . import cold, data

SELECT = "/cds-services/flank-mass-imaging-order-select"
SIGN = "/cds-services/flank-mass-imaging-order-sign"
VIEW = "/cds-services/flank-mass-imaging-patient-view"
JSON = {"Content-Type": "application/json"}
JUNK = [None, "", "x", 0, -1, 3.5, True, [], {}, [None], {"coding": "x"}, {"reference": 5}, "\u0000", "\u20ac" * 50]
FAULTS = ("slow", "hang", "garbage", "error", "notfhir", "bundle-junk")


class Positive(bytes):
    """The body of a positive order-select in the mix; a distinct soak sends a new patient instead."""


class Patients:
    """Positive calls for patients never seen before: every `narrative_every`-th one's findings are
    only in ultrasound narratives worded anew (bench.cold), so no per-patient or per-narrative memo
    can repeat. Thread-safe: itertools.count hands each client its own number."""

    def __init__(self, seed: int, narrative_every: int = 10):
        self._numbers = itertools.count()
        self._seed, self._every = seed, narrative_every

    def __call__(self) -> bytes:
        i = next(self._numbers)
        return data.encode(cold.body(i, narratives=i % self._every == self._every - 1, seed=self._seed))


class FaultyFhir(LoopbackHTTP):
    """A FHIR server whose fault is picked by the patient id in the path: `Patient/fault-hang`."""

    def __init__(self, hang_s: float):
        stop = threading.Event()
        self.stop = stop

        class Handler(QuietHandler):
            def do_GET(self):
                fault = next((f for f in FAULTS if f"fault-{f}" in self.path), "slow")
                status, body = 200, b""
                if fault == "slow":
                    time.sleep(0.2)
                    pid = self.path.split("Patient/")[-1].split("?")[0].split("&")[0]
                    resource = (
                        {"resourceType": "Patient", "id": pid}
                        if "?" not in self.path
                        else {"resourceType": "Bundle", "type": "searchset", "total": 0}
                    )
                    body = json.dumps(resource).encode()
                elif fault == "hang":
                    stop.wait(hang_s)
                    body = b"{}"
                elif fault == "garbage":
                    body = b"\x00\xff{not json" * 100
                elif fault == "error":
                    status, body = 500, b'{"resourceType": "OperationOutcome"}'
                elif fault == "notfhir":
                    body = b'{"hello": "world"}'
                else:
                    body = b'{"resourceType": "Bundle", "entry": "oops", "link": [{"relation": "next", "url": 5}]}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the service gave up first: that is the point of the fault

        super().__init__(Handler)
        self._server.handle_error = lambda request, address: None  # resets by the service are expected
        self.url = self.base + "/fhir"

    def __exit__(self, *exc):
        self.stop.set()
        return super().__exit__(*exc)


def _valid(rng) -> list[tuple]:
    positive = data.order_select(data.mri_draft(), data.prefetch(80))
    half = data.order_select(data.half_filled_draft(), data.prefetch(80))
    sign = {
        **positive,
        "hook": "order-sign",
        "context": {k: v for k, v in positive["context"].items() if k != "selections"},
    }
    view = {
        "hook": "patient-view",
        "hookInstance": "soak-view",
        "context": {"userId": "Practitioner/soak", "patientId": data.PID},
        "prefetch": data.prefetch(80),
    }
    feedback = {
        "feedback": [
            {
                "card": f"card-{rng.randrange(10**6)}",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-20T10:00:00Z",
                "overrideReason": {"reason": {"code": "ct-done-elsewhere", "system": "http://example.org/reasons"}},
            }
        ]
    }
    return [
        ("POST", SELECT, Positive(orjson.dumps(positive)), JSON),
        ("POST", SELECT, orjson.dumps(half), JSON),
        ("POST", SIGN, orjson.dumps(sign), JSON),
        ("POST", VIEW, orjson.dumps(view), JSON),
        ("POST", SELECT + "/feedback", orjson.dumps(feedback), JSON),
        ("GET", "/cds-services", None, {}),
        ("GET", "/healthz", None, {}),
    ]


def _malformed(rng) -> list[tuple]:
    base = data.order_select(data.mri_draft(), data.prefetch(80))
    out = []
    for _ in range(40):
        body = copy.deepcopy(base)
        for _ in range(rng.randint(1, 4)):
            mutate(rng, body, JUNK)
        out.append(("POST", SELECT, orjson.dumps(body), JSON))
    big = copy.deepcopy(base)
    big["context"]["selections"] = [1] * 200_000
    deep = orjson.dumps(base).replace(
        b'"code":{"coding":[{"system"', b'"code":' + b"[" * 900 + b"]" * 900 + b',"x":{"coding":[{"system"', 1
    )
    out += [
        ("POST", SELECT, b"{not json", JSON),
        ("POST", SELECT, b"[1,2]", JSON),
        ("POST", SELECT, orjson.dumps(big), JSON),
        ("POST", SELECT, deep, JSON),
        ("POST", SELECT, orjson.dumps(base), {"Content-Type": "text/plain"}),
        ("POST", "/cds-services/no-such-service", orjson.dumps(base), JSON),
        ("PUT", SELECT, b"{}", JSON),
        (
            "POST",
            SELECT + "/feedback",
            orjson.dumps(
                {
                    "feedback": [
                        {
                            "card": "a\u0000b",
                            "outcome": "accepted",
                            "acceptedSuggestions": [{"id": "s"}],
                            "outcomeTimestamp": "2026-11-20T10:00:00Z",
                        }
                    ]
                }
            ),
            JSON,
        ),
        (
            "POST",
            VIEW,
            orjson.dumps(
                {
                    "hook": "patient-view",
                    "hookInstance": "x",
                    "fhirServer": "http://[::1/fhir",
                    "context": {"userId": "Practitioner/a", "patientId": "p", "draftOrders": 5},
                }
            ),
            JSON,
        ),
    ]
    return out


def _faulty(fhir_url: str, closed_url: str) -> list[tuple]:
    out = []
    for fault in FAULTS:
        body = data.order_select(
            data.mri_draft(),
            None,
            fhirServer=fhir_url,
            fhirAuthorization={"access_token": "soak-token", "token_type": "Bearer"},
        )
        body["context"]["patientId"] = f"fault-{fault}"
        out.append(("POST", SELECT, orjson.dumps(body), JSON))
    unreachable = data.order_select(data.mri_draft(), None, fhirServer=closed_url)
    out.append(("POST", SELECT, orjson.dumps(unreachable), JSON))
    return out


def mix(seed: int, fhir_url: str, closed_url: str) -> list[tuple]:
    """About 60% valid, 30% malformed, 5% faulty (a hang holds a service thread until the deadline)."""
    rng = random.Random(seed)
    valid, malformed, faulty = _valid(rng), _malformed(rng), _faulty(fhir_url, closed_url)
    weighted = valid * 13 + malformed + faulty
    rng.shuffle(weighted)
    return weighted
