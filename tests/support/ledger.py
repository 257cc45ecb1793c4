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
