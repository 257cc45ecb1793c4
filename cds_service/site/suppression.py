"""No repeated alerts, scoped to the caller, atomic in the database and across hooks.

The rule (documented under "No repeated alerts"): once a clinician overrides a card with a reason
that card offered, for the same caller (auth.identity: issuer and tenant), the same patient and
the same card kind, for `suppression.hours`:

1. the same draft order gets that card kind on no hook again (order-select or order-sign,
   whatever its indicator): the clinician has answered it;
2. other drafts of the same kind of order stay quiet on order-select and patient-view; on
   order-sign a critical card is the last look before signing and is shown once per draft,
   unless the override was itself given on order-sign. "Once" is claimed in the database with one
   INSERT .. ON CONFLICT (cds_last_look), so two workers answering at once never both show it.

An override starts its suppression in the same transaction that stores the feedback item
(`start`), from the card's own record (cds_card_subject: caller, hashed patient, hashed draft),
so a suppression exists exactly when the feedback does, and only for the caller the card was
shown to. Patient and draft are stored only as HMAC-SHA256(site secret, …): the tables can be
dumped without identifying anyone, and without the secret (CDS_SUPPRESSION_SECRET) no hash can be
recomputed from a guessed id. The hook path reads through storage.HookLane: when it cannot
answer within its bound, the card is shown.

Keys, for issue 22's replicas (any replica may answer the hook, another the feedback):
`client_key` = auth.identity.Caller.key, `subject_key(secret, patient id)`,
`draft_key(secret, patient id, draft reference)`; the tables are cds_card_subject,
cds_suppression (primary key: client, subject, kind, order kind, draft, hook) and cds_last_look.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ..audit.ledger import SUBJECT_KEEP_S
from ..storage import Database

SIGN = "order-sign"


def subject_key(secret: bytes, patient_id: str) -> str:
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()


def draft_key(secret: bytes, patient_id: str, draft_ref: str | None) -> str:
    """The draft order as the clinician works on it across hooks ("" when the card is about none)."""
    if not draft_ref:
        return ""
    return hmac.new(secret, f"draft\x00{patient_id}\x00{draft_ref}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Active:
    kind: str
    order_kind: str
    draft_key: str
    hook: str


def active(db: Database, client_key: str, subject: str, now: int) -> list[Active]:
    """This caller's live suppressions for one patient."""
    return [
        Active(*row)
        for row in db.query(
            "SELECT kind, order_kind, draft_key, hook FROM cds_suppression"
            " WHERE client_key = ? AND subject_key = ? AND until_at > ?",
            (client_key, subject, now),
        )
    ]


def verdict(rows: list[Active], kind: str, order_kind: str, draft: str, hook: str, indicator: str) -> str:
    """'shown', 'suppressed', or 'last-look' (order-sign shows it once per draft: claim_last_look)."""
    matching = [r for r in rows if r.kind == kind and r.order_kind == order_kind]
    if not matching:
        return "shown"
    if draft and any(r.draft_key == draft for r in matching):
        return "suppressed"  # this very draft's card was answered, on whichever hook
    if hook == SIGN and indicator == "critical" and not any(r.hook == SIGN for r in matching):
        return "last-look"
    return "suppressed"


def claim_last_look(db: Database, client_key: str, subject: str, kind: str, draft: str, now: int, seconds: int) -> bool:
    """True for the one call that may show the last look for this draft in this period (atomic)."""
    return (
        db.execute(
            "INSERT INTO cds_last_look (client_key, subject_key, kind, draft_key, until_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (client_key, subject_key, kind, draft_key) DO UPDATE SET until_at = excluded.until_at"
            " WHERE cds_last_look.until_at <= ?",
            (client_key, subject, kind, draft, now + seconds, now),
        )
        == 1
    )


def start(db: Database, client_key: str, cards: list[str], now: int, seconds: int) -> int:
    """Start (or extend) the suppression of each card overridden with a reason; call inside the
    feedback item's transaction. Only the caller's own cards are found. Returns how many started."""
    started = 0
    for card in cards:
        started += db.execute(
            "INSERT INTO cds_suppression (client_key, subject_key, kind, order_kind, draft_key, hook, until_at)"
            " SELECT client_key, subject_key, kind, order_kind, draft_key, hook, ? FROM cds_card_subject"
            " WHERE card_uuid = ? AND client_key = ?"
            " ON CONFLICT (client_key, subject_key, kind, order_kind, draft_key, hook)"
            " DO UPDATE SET until_at = excluded.until_at",
            (now + seconds, card, client_key),
        )
    if cards:
        db.execute("DELETE FROM cds_suppression WHERE until_at <= ?", (now,))
        db.execute("DELETE FROM cds_last_look WHERE until_at <= ?", (now,))
        db.execute("DELETE FROM cds_card_subject WHERE issued_at < ?", (now - SUBJECT_KEEP_S,))
    return started


def overridden_cards(items: list[dict]) -> list[str]:
    """Card uuids overridden with a reason (an override without a reason suppresses nothing)."""
    return [
        item["card"]
        for item in items
        if item.get("outcome") == "overridden" and ((item.get("overrideReason") or {}).get("reason") or {}).get("code")
    ]
