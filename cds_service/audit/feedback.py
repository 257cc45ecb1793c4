"""Stores CDS Hooks feedback items: all of a request's items or none, each item at most once."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime

import orjson

from ..storage import Database


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


def store(db: Database, rows: list[tuple]) -> int:
    """Insert every row or none (one transaction); returns how many were new."""
    added = 0
    with db.transaction():
        for row in rows:
            added += db.execute(
                "INSERT INTO cds_feedback (feedback_key, service_id, card_uuid, outcome, accepted_suggestions,"
                " override_system, override_code, override_display, has_comment, outcome_at, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feedback_key) DO NOTHING",
                row,
            )
    return added
