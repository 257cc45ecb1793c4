"""No repeated alerts: after a clinician overrides a card with a reason, the same card kind for
the same patient and the same kind of order is not shown again for a while.

The patient is stored only as HMAC-SHA256(site secret, patient id): the tables can be dumped
without identifying anyone, and without the secret (CDS_SUPPRESSION_SECRET) the hash cannot be
recomputed from a guessed id. The feature refuses to start without the secret (site.config).
A failure of this store never hides a card: when in doubt, the card is shown.
"""

from __future__ import annotations

import hashlib
import hmac

from ..audit.ledger import SUBJECT_KEEP_S
from ..storage import Database


def subject_key(secret: bytes, patient_id: str) -> str:
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()


def active(db: Database, subject: str, now: int) -> dict[tuple[str, str], set[str]]:
    """(card kind, order kind) -> hooks whose override still suppresses it, for one patient."""
    found: dict[tuple[str, str], set[str]] = {}
    for kind, order_kind, hook in db.query(
        "SELECT kind, order_kind, hook FROM cds_suppression WHERE subject_key = ? AND until_at > ?", (subject, now)
    ):
        found.setdefault((kind, order_kind), set()).add(hook)
    return found


def is_suppressed(hooks: set[str] | None, hook: str, indicator: str) -> bool:
    """order-sign is the last look before signing: a critical card is suppressed there only by an
    override given on order-sign itself, so it is shown (once) even after order-select overrides."""
    if not hooks:
        return False
    if hook == "order-sign" and indicator == "critical":
        return "order-sign" in hooks
    return True


def overridden_cards(items: list[dict]) -> list[str]:
    """Card uuids overridden with a reason (an override without a reason suppresses nothing)."""
    return [
        item["card"]
        for item in items
        if item.get("outcome") == "overridden" and ((item.get("overrideReason") or {}).get("reason") or {}).get("code")
    ]


def record_overrides(db: Database, cards: list[str], now: int, seconds: int) -> int:
    """Start (or extend) a suppression for each overridden card we know; the number started."""
    started = 0
    with db.transaction():
        for card in cards:
            for subject, kind, order_kind, hook in db.query(
                "SELECT subject_key, kind, order_kind, hook FROM cds_card_subject WHERE card_uuid = ?", (card,)
            ):
                db.execute(
                    "INSERT INTO cds_suppression (subject_key, kind, order_kind, hook, until_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (subject_key, kind, order_kind, hook) DO UPDATE SET until_at = excluded.until_at",
                    (subject, kind, order_kind, hook, now + seconds),
                )
                started += 1
        db.execute("DELETE FROM cds_suppression WHERE until_at <= ?", (now,))
        db.execute("DELETE FROM cds_card_subject WHERE issued_at < ?", (now - SUBJECT_KEEP_S,))
    return started
