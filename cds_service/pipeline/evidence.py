"""Stage 5: what the chart shows (placeholder until the clinical engine lands)."""
from __future__ import annotations


def run(exchange, runtime) -> None:
    exchange.evidence = None
