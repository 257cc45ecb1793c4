"""Writes issued cards and ratings. Called after the response is sent, so it never delays it."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import orjson

from ..storage import Database, StorageError

log = logging.getLogger("cds_service.audit")


@dataclass(frozen=True)
class IssuedCard:
    uuid: str
    kind: str
    indicator: str
    suggestion_uuids: tuple[str, ...] = ()
    consult_id: str | None = None     # the rating of the order this card is about, if rated
    draft_ref: str | None = None      # joins card to rating in memory; never stored


@dataclass(frozen=True)
class IssuedRating:
    consult_id: str
    order_kind: str
    rating: str


def record(db: Database, service_id: str, hook: str, cards: list[IssuedCard], ratings: list[IssuedRating],
           request_id: str) -> None:
    """Store one response's cards and ratings in one transaction; a failure is logged, not raised."""
    if not cards and not ratings:
        return
    now = int(time.time())
    try:
        with db.transaction():
            for card in cards:
                db.execute(
                    "INSERT INTO cds_card (uuid, service_id, hook, kind, indicator, suggestion_uuids, consult_id, issued_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING",
                    (card.uuid, service_id, hook, card.kind, card.indicator,
                     orjson.dumps(list(card.suggestion_uuids)).decode(), card.consult_id, now))
            for rating in ratings:
                db.execute(
                    "INSERT INTO cds_rating (consult_id, service_id, order_kind, rating, issued_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (consult_id) DO NOTHING",
                    (rating.consult_id, service_id, rating.order_kind, rating.rating, now))
    except StorageError as exc:
        log.error("issued cards not recorded", extra={"requestId": request_id, "reason": str(exc),
                                                      "cards": len(cards), "ratings": len(ratings)})
