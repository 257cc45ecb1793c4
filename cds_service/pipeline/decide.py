"""Stage 6: which advice applies (placeholder until the clinical engine lands)."""
from __future__ import annotations


def run(exchange, runtime) -> None:
    exchange.decisions = []
