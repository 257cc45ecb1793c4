"""The invocation flow, one stage per module, run in this order:

authenticate -> validate -> prefetch -> parse -> evidence -> decide -> render -> rate -> respond

Each stage reads what earlier stages put on the Exchange and adds its own product; the runner
times every stage for the request log. Discovery and feedback reuse `authenticate` only. After the response is sent,
the HTTP layer records the issued cards and ratings (audit.ledger) so storage never delays it.
"""
from __future__ import annotations

import time

from . import decide, evidence, parse, prefetch, rate, render, respond, validate
from .exchange import Exchange

# authenticate runs in the HTTP layer (it guards discovery and feedback too), so the flow here
# starts with a caller already admitted.
STAGES = (
    ("validate", validate.run),
    ("prefetch", prefetch.run),
    ("parse", parse.run),
    ("evidence", evidence.run),
    ("decide", decide.run),
    ("render", render.run),
    ("rate", rate.run),
    ("respond", respond.run),
)


def run(exchange: Exchange, runtime) -> dict:
    """Drive one request through every stage; returns the response body."""
    for name, stage in STAGES:
        started = time.perf_counter()
        try:
            stage(exchange, runtime)
        finally:
            exchange.timings[name] = round((time.perf_counter() - started) * 1000, 3)
    return exchange.response
