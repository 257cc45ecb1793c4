"""Stage 7: advice becomes CDS Hooks cards (placeholder until the clinical engine lands)."""
from __future__ import annotations


def run(exchange, runtime) -> None:
    exchange.response = {"cards": []}
