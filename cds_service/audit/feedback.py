"""Stores CDS Hooks feedback items: all of a request's accepted items or none, each at most once.

Feedback is believed only about cards this service issued to the same caller: an item is
refused (and never stored) when no card with its uuid was issued by this service to this caller
(auth.identity.Caller.key; another client's card looks exactly like an unknown one), when its
override reason is not one the card offered (`overrideReasons`; a free-text `userComment` is
always allowed), or when it accepts a suggestion the card did not carry. The caller is told which
items were refused and why; the others are stored.

A card is answered before its record is written (the hook path never waits on storage), and a
clinician can click within a second: the record may still wait in this worker's ledger queue,
another worker's (LINGER_S plus a commit) or, after a storage fault, a spool. So a card not found
is looked for again (`await_issued`): this host's records are brought forward first (flush and
spool, audit.writer.hurry), then the database is polled every POLL_S for up to the feedback wait
(CDS_FEEDBACK_WAIT_S, 2 s) before the item is refused as unknown. A storage error at any point
is a 503 with Retry-After (nothing stored), never a refusal: the card may well exist.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from .. import metrics
from ..storage import Database
from .ledger import reason_key

POLL_S = 0.1

MESSAGES = {
    "unknown-card": "no card with this uuid was issued by this service to this client",
    "reason-not-offered": "overrideReason.reason is not one of the card's overrideReasons",
    "suggestion-not-offered": "acceptedSuggestions names a suggestion the card did not carry",
}


def _epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


def item_key(service_id: str, item: dict) -> str:
    """Same content, same key: what makes a repeated delivery of one item idempotent."""
    reason = (item.get("overrideReason") or {}).get("reason") or {}
    parts = [
        service_id,
        item["card"],
        item["outcome"],
        item["outcomeTimestamp"],
        ",".join(sorted(s["id"] for s in item.get("acceptedSuggestions") or ())),
        reason.get("system", ""),
        reason.get("code", ""),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def rows(service_id: str, items: list[dict], now: float | None = None) -> list[tuple]:
    """Schema-valid items as table rows; ValueError for an impossible timestamp (a 400, not a 503).

    `now` is the received time to record (default: the clock), so tests never race a boundary."""
    now = int(time.time() if now is None else now)
    rows = []
    for item in items:
        override = item.get("overrideReason") or {}
        reason = override.get("reason") or {}
        accepted = [s["id"] for s in item.get("acceptedSuggestions") or ()]
        rows.append(
            (
                item_key(service_id, item),
                service_id,
                item["card"],
                item["outcome"],
                orjson.dumps(accepted).decode() if accepted else None,
                reason.get("system"),
                reason.get("code"),
                reason.get("display"),
                1 if override.get("userComment") else 0,
                _epoch(item["outcomeTimestamp"]),
                now,
            )
        )
    return rows


@dataclass(frozen=True)
class Issued:
    """What feedback about one card is checked against (cds_card)."""

    suggestions: frozenset[str]
    reasons: frozenset[str]


def issued_cards(db: Database, service_id: str, client_key: str, uuids: list[str]) -> dict[str, Issued]:
    """The cards among `uuids` this service issued to this caller (raises StorageError)."""
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    return {
        uuid: Issued(frozenset(orjson.loads(suggestions)), frozenset(orjson.loads(reasons)))
        for uuid, suggestions, reasons in db.query(
            f"SELECT uuid, suggestion_uuids, override_reasons FROM cds_card WHERE uuid IN ({marks})"
            " AND service_id = ? AND client_key = ?",
            (*wanted, service_id, client_key),
        )
    }


def await_issued(
    lookup: Callable[[list[str]], dict[str, Issued]],
    hurry: Callable[[list[str], float], None],
    uuids: list[str],
    wait_s: float,
    poll_s: float = POLL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Issued]:
    """The cards among `uuids` found by `lookup`, waiting up to `wait_s` for those not found yet.

    lookup(uuids) reads the database; hurry(uuids, seconds left) brings forward the records this
    host holds (audit.writer.LedgerWriter.hurry). Both raise StorageError, which ends the wait
    (the caller answers 503). `clock` and `sleep` are the wait's time: tests drive them."""
    deadline = clock() + wait_s
    cards = lookup(uuids)
    missing = [u for u in dict.fromkeys(uuids) if u not in cards]
    if not missing:
        return cards
    with metrics.feedback_waiting():
        while missing:
            hurry(missing, max(0.0, deadline - clock()))
            cards.update(lookup(missing))
            missing = [u for u in missing if u not in cards]
            left = deadline - clock()
            if not missing or left <= 0:
                break
            sleep(min(poll_s, left))
    return cards


def refusal(item: dict, card: Issued | None) -> str | None:
    """Why this item is refused (a key of MESSAGES), or None when it may be stored."""
    if card is None:
        return "unknown-card"
    reason = (item.get("overrideReason") or {}).get("reason")
    if reason is not None and reason_key(reason.get("system"), reason.get("code")) not in card.reasons:
        return "reason-not-offered"
    if any(s["id"] not in card.suggestions for s in item.get("acceptedSuggestions") or ()):
        return "suggestion-not-offered"
    return None


def store(db: Database, rows: list[tuple]) -> int:
    """Insert every row (inside the caller's transaction); returns how many were new."""
    added = 0
    for row in rows:
        added += db.execute(
            "INSERT INTO cds_feedback (feedback_key, service_id, card_uuid, outcome, accepted_suggestions,"
            " override_system, override_code, override_display, has_comment, outcome_at, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feedback_key) DO NOTHING",
            row,
        )
    return added
