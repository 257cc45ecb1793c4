"""Ledger entries for tests that write issued cards directly (report, purge, storage tests)."""

from __future__ import annotations

import time

from cds_service.audit.ledger import LedgerEntry
from cds_service.auth.identity import LOCAL


def entry(
    service: str,
    hook: str,
    cards=(),
    ratings=(),
    request_id: str = "r",
    issued_at: float | None = None,
    client_key: str = LOCAL.key,
) -> LedgerEntry:
    return LedgerEntry(
        service,
        hook,
        request_id,
        client_key,
        int(time.time() if issued_at is None else issued_at),
        tuple(cards),
        tuple(ratings),
    )


SYSTEM = "http://cds.example.org/fhir/CodeSystem/flank-mass-override-reason"


def issue_card(db, service_id: str, uuid: str, suggestions=(), codes=None, client_key: str = LOCAL.key) -> None:
    """Record a card as issued (by `service_id` to the caller with `client_key`), offering override
    reasons of the shipped system: `codes`, or every code a test may use. Feedback about it is then
    believed (issue 21: feedback only about cards issued to the caller)."""
    import json as _json
    from pathlib import Path

    from cds_service.audit.ledger import IssuedCard, reason_key, write

    shipped = _json.loads((Path(__file__).resolve().parents[2] / "hooks/knowledge/override-reasons.json").read_text())
    codes = codes if codes is not None else [*shipped["reasons"], "patient-declined", "other"]
    card = IssuedCard(
        uuid,
        "mri-before-ct",
        "warning",
        tuple(suggestions),
        override_reasons=tuple(reason_key(SYSTEM, c) for c in codes),
    )
    write(db, [entry(service_id, "order-select", [card], client_key=client_key)])
