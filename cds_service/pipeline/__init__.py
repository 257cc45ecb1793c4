"""The invocation flow, one stage per module, run in this order:

authenticate -> validate -> configure -> scope -> prefetch -> parse -> evidence -> safety -> decide
-> adjust -> render -> suppress -> rate -> shadow -> respond

Each stage reads what earlier stages put on the Exchange and adds its own product; the runner
times every stage for the request log, and the three phases (intake, engine, finish) for the
stage histogram. Discovery and feedback reuse `authenticate` only. After
the response is sent, the HTTP layer records the issued cards and ratings (audit.ledger), so
storage never delays it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from .. import metrics
from . import (
    adjust,
    configure,
    decide,
    evidence,
    parse,
    prefetch,
    rate,
    render,
    respond,
    safety,
    scope,
    shadow,
    suppress,
    validate,
)
from .exchange import SHAPE_ERRORS, Exchange

# authenticate runs in the HTTP layer (it guards discovery and feedback too), so the flow here
# starts with a caller already admitted.
INTAKE = (
    ("validate", validate.run),
    ("configure", configure.run),
    ("scope", scope.run),
    ("prefetch", prefetch.run),
    ("parse", parse.run),
)
# The engine reads the patient's data as plain dicts (fast); malformed data can trip it (see run).
ENGINE = (
    ("evidence", evidence.run),
    ("safety", safety.run),
    ("decide", decide.run),
    ("adjust", adjust.run),
    ("render", render.run),
    ("suppress", suppress.run),
    ("rate", rate.run),
)
FINISH = (("shadow", shadow.run), ("respond", respond.run))
STAGES = INTAKE + ENGINE + FINISH


def _run(stages, exchange: Exchange, runtime) -> None:
    for name, stage in stages:
        started = time.perf_counter()
        try:
            stage(exchange, runtime)
        finally:
            spent = (time.perf_counter() - started) * 1000
            exchange.timings[name] = round(exchange.timings.get(name, 0) + spent, 3)


@contextmanager
def _phase(name: str):
    """Record one phase in the stage histogram.

    Prometheus gets three phases, the request log every stage: under gunicorn each histogram
    observation is a locked write to a shared file, and thirteen of them per call cost more than
    most stages they time (measured: 0.1 ms of a 1 ms answer)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.observe_stage(name, (time.perf_counter() - started) * 1000)


def run(exchange: Exchange, runtime) -> dict:
    """Drive one request through every stage; returns the response body.

    If the engine trips over malformed resources (a list where FHIR has an object, say), the
    record keeps only what passes full R4 validation and the engine runs once more; an error on
    validated data is a real fault and propagates (500).
    """
    with _phase("intake"):
        _run(INTAKE, exchange, runtime)
    with _phase("engine"):
        try:
            _run(ENGINE, exchange, runtime)
        except SHAPE_ERRORS:
            exchange.notes["malformedDropped"] = exchange.record.keep_valid()
            _run(ENGINE, exchange, runtime)
    with _phase("finish"):
        _run(FINISH, exchange, runtime)
    return exchange.response
