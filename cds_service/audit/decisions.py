"""Which shown cards are one clinician decision, so the committee report counts decisions, not calls.

An EHR calls order-select on every change of the order form (the Sandbox: empty draft, study,
reason, ...), and order-sign again at signing: the clinician sees the same warning about the same
draft several times but decides once. A decision is one patient, one draft order (none for
patient-view) and one card kind, for as long as the card keeps being shown: a card shown again
within the session window (CDS_DECISION_WINDOW_MIN minutes of its last showing) joins the open
decision; after a longer pause it starts a new one.

No patient identifier is stored: the request path computes HMAC-SHA256(secret, patient, draft,
kind) (the secret is CDS_SUPPRESSION_SECRET when set, else a random key this database keeps for
the purpose), the ledger writer looks that hash up among the open decisions and stores on the card
only a random decision id. The hash itself is kept while the decision is open and deleted once the
window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import replace

from ..storage import Database, StorageError

DEFAULT_WINDOW_S = 30 * 60


def key(secret: bytes, patient_id: str, draft_ref: str | None, kind: str) -> str:
    message = "\x1f".join((patient_id, draft_ref or "", kind)).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def keyed(cards: Iterable, secret: bytes | None, patient_id) -> list:
    """The issued cards, each shown one with its decision key (unchanged without a secret or patient)."""
    if not secret or not isinstance(patient_id, str):
        return list(cards)
    return [
        replace(c, decision_key=key(secret, patient_id, c.draft_ref, c.kind)) if c.disposition == "shown" else c
        for c in cards
    ]


def instance_secret(db: Database) -> bytes | None:
    """This database's own key for decision hashes, made on first use; None if the database cannot
    say (the cards are then counted one decision each)."""
    try:
        db.execute(
            "INSERT INTO cds_instance_key (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            ("decisions", secrets.token_hex(32)),
        )
        rows = db.query("SELECT secret FROM cds_instance_key WHERE name = ?", ("decisions",))
    except StorageError:
        return None
    return rows[0][0].encode() if rows else None


def assign(db: Database, decision_keys: Iterable[str], now: int, window_s: int) -> dict[str, str]:
    """Decision id per key, inside the caller's transaction: the open decision when its card was
    last shown within the window, else a new one. One statement per key, so two workers recording
    the same decision at once agree on its id (the conflict resolves in the database)."""
    ids = {}
    for decision_key in dict.fromkeys(decision_keys):
        [(decision_id,)] = db.query(
            "INSERT INTO cds_decision_open (decision_key, decision_id, last_seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (decision_key) DO UPDATE SET"
            " decision_id = CASE WHEN cds_decision_open.last_seen_at < ? THEN excluded.decision_id"
            " ELSE cds_decision_open.decision_id END,"
            " last_seen_at = CASE WHEN excluded.last_seen_at > cds_decision_open.last_seen_at"
            " THEN excluded.last_seen_at ELSE cds_decision_open.last_seen_at END"
            " RETURNING decision_id",
            (decision_key, str(uuid.uuid4()), now, now - window_s),
        )
        ids[decision_key] = decision_id
    if ids:
        db.execute("DELETE FROM cds_decision_open WHERE last_seen_at < ?", (now - window_s,))
    return ids
