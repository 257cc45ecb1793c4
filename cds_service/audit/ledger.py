"""Issued cards and ratings as rows (no patient identifiers); written in batches by audit.writer.

A `LedgerEntry` is one response's record, stamped with the time the cards were issued (not the
time it reached the database: during a storage fault it may wait in the spool for minutes) and
with the caller it was issued to (auth.identity.Caller.key), which feedback is checked against.
Entries are plain data that round-trip through JSON (`to_json` / `from_json`) for the spool.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import orjson

from ..storage import Database
from . import decisions

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
    override_reasons: tuple[str, ...] = ()  # "system|code" of each overrideReason the card offered
    draft_key: str = ""  # HMAC of the patient and draft order ("" for none), only when suppression is on
    decision_key: str | None = None  # keyed hash of patient, draft and kind (audit.decisions); never stored


@dataclass(frozen=True)
class IssuedRating:
    consult_id: str
    order_kind: str
    rating: str
    shadow: bool = False


@dataclass(frozen=True)
class LedgerEntry:
    service_id: str
    hook: str
    request_id: str
    client_key: str
    issued_at: int
    cards: tuple[IssuedCard, ...] = ()
    ratings: tuple[IssuedRating, ...] = field(default=())

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict) -> LedgerEntry:
        cards = tuple(
            IssuedCard(
                **{
                    **c,
                    "suggestion_uuids": tuple(c["suggestion_uuids"]),
                    "override_reasons": tuple(c["override_reasons"]),
                }
            )
            for c in doc["cards"]
        )
        ratings = tuple(IssuedRating(**r) for r in doc["ratings"])
        return cls(**{**doc, "cards": cards, "ratings": ratings})


def reason_key(system: str | None, code: str | None) -> str:
    """How an override reason is compared: system and code, never the display (clients omit it)."""
    return f"{system or ''}|{code or ''}"


def write(db: Database, entries: list[LedgerEntry], decision_window_s: int = decisions.DEFAULT_WINDOW_S) -> None:
    """Store the cards and ratings of several responses in one transaction (raises StorageError).
    Every insert is ON CONFLICT DO NOTHING, so writing an entry twice (a spool replayed after a
    commit whose answer was lost) changes nothing. Shown cards join their decision (audit.decisions)
    as of the time they were issued, so a batch replayed from the spool later counts as it would
    have then."""
    card_rows = [
        (
            c.uuid,
            e.service_id,
            e.hook,
            c.kind,
            c.indicator,
            orjson.dumps(list(c.suggestion_uuids)).decode(),
            c.consult_id,
            e.issued_at,
            c.disposition,
            e.client_key,
            orjson.dumps(list(c.override_reasons)).decode(),
            c.decision_key,
        )
        for e in entries
        for c in e.cards
    ]
    rating_rows = [
        (r.consult_id, e.service_id, r.order_kind, r.rating, e.issued_at, int(r.shadow))
        for e in entries
        for r in e.ratings
    ]
    subject_rows = [
        (c.uuid, e.client_key, c.subject_key, c.kind, c.order_kind or "none", c.draft_key, e.hook, e.issued_at)
        for e in entries
        for c in e.cards
        if c.subject_key and c.disposition == "shown"
    ]
    if not card_rows and not rating_rows:
        return
    shown: dict[int, list[str]] = {}  # issue time -> decision keys shown then
    for e in entries:
        shown.setdefault(e.issued_at, []).extend(c.decision_key for c in e.cards if c.decision_key)
    with db.transaction():
        ids: dict[str, str] = {}
        for issued_at in sorted(shown):
            ids.update(decisions.assign(db, shown[issued_at], issued_at, decision_window_s))
        db.execute_many(
            "INSERT INTO cds_card (uuid, service_id, hook, kind, indicator, suggestion_uuids, consult_id, issued_at,"
            " disposition, client_key, override_reasons, decision_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (uuid) DO NOTHING",
            [(*row[:-1], ids.get(row[-1]) if row[-1] else None) for row in card_rows],
        )
        db.execute_many(
            "INSERT INTO cds_rating (consult_id, service_id, order_kind, rating, issued_at, shadow)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (consult_id) DO NOTHING",
            rating_rows,
        )
        db.execute_many(
            "INSERT INTO cds_card_subject (card_uuid, client_key, subject_key, kind, order_kind, draft_key, hook,"
            " issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (card_uuid) DO NOTHING",
            subject_rows,
        )
        if subject_rows:  # the hashed-patient link is needed only while feedback can still come
            newest = max(e.issued_at for e in entries)
            db.execute("DELETE FROM cds_card_subject WHERE issued_at < ?", (newest - SUBJECT_KEEP_S,))
