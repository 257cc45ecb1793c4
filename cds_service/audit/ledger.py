"""Issued cards and ratings as rows (no patient identifiers); written in batches by audit.writer."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import orjson

from ..storage import Database, StorageError
from . import decisions

log = logging.getLogger("cds_service.audit")
SUBJECT_KEEP_S = 7 * 86400  # card -> hashed patient rows (suppression of repeated alerts) kept a week


@dataclass(frozen=True)
class IssuedCard:
    uuid: str
    kind: str
    indicator: str
    suggestion_uuids: tuple[str, ...] = ()
    consult_id: str | None = None  # the rating of the order this card is about, if rated
    draft_ref: str | None = None  # joins card to rating in memory; never stored
    disposition: str = "shown"  # shown | shadow | suppressed | capped (site configuration)
    subject_key: str | None = None  # HMAC of the patient id, only when suppression is on
    order_kind: str | None = None  # the order class the card is about ("none" for patient-view)
    decision_key: str | None = None  # keyed hash of patient, draft and kind (audit.decisions); never stored


@dataclass(frozen=True)
class IssuedRating:
    consult_id: str
    order_kind: str
    rating: str
    shadow: bool = False


def record_batch(
    db: Database,
    items: list[tuple],
    retry_delays_s: tuple[float, ...] = (),
    decision_window_s: int = decisions.DEFAULT_WINDOW_S,
    now: int | None = None,
) -> None:
    """Store the cards and ratings of several responses in one transaction.

    items: (service_id, hook, cards, ratings, request_id). A database that is busy or briefly away
    is tried again after each of retry_delays_s (the background writer waits; a request thread
    does not). A final failure is logged, never raised: the clinician already has the cards; the
    log keeps the count that was not recorded."""
    for delay in retry_delays_s:
        try:
            _write(db, items, decision_window_s, now)
            return
        except StorageError:
            time.sleep(delay)
    try:
        _write(db, items, decision_window_s, now)
    except StorageError as exc:
        log.error(
            "issued cards not recorded",
            extra={
                "requestIds": [item[4] for item in items][:20],
                "reason": str(exc),
                "cards": sum(len(item[2]) for item in items),
                "ratings": sum(len(item[3]) for item in items),
            },
        )


def _write(db: Database, items: list[tuple], decision_window_s: int, at: int | None) -> None:
    now = int(time.time()) if at is None else at
    shown = [c.decision_key for _, _, issued, _, _ in items for c in issued if c.decision_key]
    card_rows: list[tuple] = [
        (
            c.uuid,
            service,
            hook,
            c.kind,
            c.indicator,
            orjson.dumps(list(c.suggestion_uuids)).decode(),
            c.consult_id,
            now,
            c.disposition,
            c.decision_key,
        )
        for service, hook, issued, _, _ in items
        for c in issued
    ]
    rating_rows: list[tuple] = [
        (r.consult_id, service, r.order_kind, r.rating, now, int(r.shadow))
        for service, _, _, ratings, _ in items
        for r in ratings
    ]
    subject_rows: list[tuple] = [
        (c.uuid, c.subject_key, c.kind, c.order_kind or "none", hook, now)
        for _, hook, cards, _, _ in items
        for c in cards
        if c.subject_key and c.disposition == "shown"
    ]
    if not card_rows and not rating_rows:
        return
    with db.transaction():
        ids = decisions.assign(db, shown, now, decision_window_s)
        db.execute_many(
            "INSERT INTO cds_card (uuid, service_id, hook, kind, indicator, suggestion_uuids, consult_id, issued_at,"
            " disposition, decision_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING",
            [(*row[:-1], ids.get(row[-1])) for row in card_rows],
        )
        db.execute_many(
            "INSERT INTO cds_rating (consult_id, service_id, order_kind, rating, issued_at, shadow)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (consult_id) DO NOTHING",
            rating_rows,
        )
        db.execute_many(
            "INSERT INTO cds_card_subject (card_uuid, subject_key, kind, order_kind, hook, issued_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (card_uuid) DO NOTHING",
            subject_rows,
        )
        if subject_rows:  # the hashed-patient link is needed only while feedback can still come
            db.execute("DELETE FROM cds_card_subject WHERE issued_at < ?", (now - SUBJECT_KEEP_S,))
