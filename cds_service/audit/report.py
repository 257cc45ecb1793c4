"""Aggregates the card ledger and feedback into what a CDS governance committee reviews.

A card's outcome is its latest feedback item (a clinician may dismiss, then accept), with one
exception kept visible: a card accepted and later overridden (the CDS Hooks Sandbox leaves a card on
screen after its suggestion is taken, so "accept, then dismiss with a reason" happens naturally) is
counted as `acceptedThenOverridden`, not silently as overridden. Cards with no feedback count as
shown only. acceptanceRate = (accepted + acceptedThenOverridden) / cards with feedback: how often
the suggestion was applied when someone acted on the card; responseRate = cards with feedback /
cards shown. Override reasons are grouped by system and code and shown with the display from
hooks/knowledge/override-reasons.json (clients such as the Sandbox send none), else the client's.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

from ..storage import Database
from .report_site import held_back

DAY = 86400


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _counts(count: Counter) -> dict:
    cards, accepted, overridden, both = (
        count["cards"],
        count["accepted"],
        count["overridden"],
        count["acceptedThenOverridden"],
    )
    responded = accepted + overridden + both
    return {
        "cards": cards,
        "accepted": accepted,
        "overridden": overridden,
        "acceptedThenOverridden": both,
        "noFeedback": cards - responded,
        "acceptanceRate": _rate(accepted + both, responded),
        "responseRate": _rate(responded, cards),
    }


def _outcome(history: list[tuple]) -> str | None:
    """The reported outcome of one card from its (time, outcome) feedback items."""
    if not history:
        return None
    history.sort(key=lambda item: item[0])
    latest = history[-1][1]
    if latest == "overridden" and any(outcome == "accepted" for _, outcome in history[:-1]):
        return "acceptedThenOverridden"
    return latest


def load_reason_displays(path) -> dict[tuple[str, str], str]:
    """(system, code) -> display from an override-reasons.json; empty when it cannot be read."""
    import json
    from pathlib import Path

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return {(doc["system"], code): display for code, display in doc["reasons"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def build(
    db: Database, since_days: int, now: float | None = None, reason_displays: dict[tuple[str, str], str] | None = None
) -> dict:
    now = int(now if now is not None else time.time())
    cutoff = now - since_days * DAY
    rows = db.query(
        "SELECT c.uuid, c.service_id, c.kind, c.issued_at, f.outcome, f.outcome_at,"
        " f.override_system, f.override_code, f.override_display"
        " FROM cds_card c LEFT JOIN cds_feedback f ON f.card_uuid = c.uuid"
        " WHERE c.issued_at >= ? AND c.disposition = 'shown'",
        (cutoff,),
    )
    displays = dict(reason_displays or {})
    cards: dict[str, dict] = {}
    for uuid, service, kind, issued, outcome, outcome_at, system, code, display in rows:
        card = cards.setdefault(
            uuid, {"service": service, "kind": kind, "issued": issued, "history": [], "reason": None, "reason_at": -1}
        )
        if outcome is None:
            continue
        card["history"].append((outcome_at, outcome))
        if outcome == "overridden" and code and outcome_at >= card["reason_at"]:
            card.update(reason=(system, code), reason_at=outcome_at)
            if display:
                displays.setdefault((system, code), display)

    groups: dict[tuple, Counter] = defaultdict(Counter)
    reasons: dict[tuple, Counter] = defaultdict(Counter)
    daily: dict[str, Counter] = defaultdict(Counter)
    for card in cards.values():
        key = (card["service"], card["kind"])
        day = _day(card["issued"])
        outcome = _outcome(card["history"])
        groups[key]["cards"] += 1
        daily[day]["cards"] += 1
        if outcome:
            groups[key][outcome] += 1
            daily[day][outcome] += 1
        if outcome in ("overridden", "acceptedThenOverridden") and card["reason"]:
            reasons[key][card["reason"]] += 1

    services: dict[str, list] = defaultdict(list)
    for (service, kind), count in sorted(groups.items()):
        entry = {"kind": kind, **_counts(count)}
        entry["overrideReasons"] = [
            {"system": s, "code": c, "display": displays.get((s, c)) or c, "count": n}
            for (s, c), n in sorted(reasons[(service, kind)].items(), key=lambda item: (-item[1], item[0][1]))
        ]
        services[service].append(entry)

    total: Counter[str] = Counter()
    for count in groups.values():
        total.update(count)
    unmatched = db.query(
        "SELECT COUNT(*) FROM cds_feedback f WHERE f.received_at >= ?"
        " AND NOT EXISTS (SELECT 1 FROM cds_card c WHERE c.uuid = f.card_uuid)",
        (cutoff,),
    )[0][0]
    ratings = db.query(
        "SELECT order_kind, rating, COUNT(*) FROM cds_rating WHERE issued_at >= ? AND shadow = 0"
        " GROUP BY order_kind, rating ORDER BY order_kind, rating",
        (cutoff,),
    )
    return {
        "generatedAt": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "since": _day(cutoff),
        "days": since_days,
        "totals": _counts(total),
        "services": [{"service": s, "kinds": kinds} for s, kinds in sorted(services.items())],
        "daily": [
            {
                "day": d,
                "cards": c["cards"],
                "accepted": c["accepted"],
                "overridden": c["overridden"],
                "acceptedThenOverridden": c["acceptedThenOverridden"],
            }
            for d, c in sorted(daily.items())
        ],
        "ratings": [{"orderKind": k, "rating": r, "count": n} for k, r, n in ratings],
        "unmatchedFeedback": unmatched,
        **held_back(db, cutoff),  # shadow, suppressed and capped cards, beside the live numbers
    }


# What purge deletes: table -> its time column (the same cutoff for every table).
PURGED = (
    ("cards", "cds_card", "issued_at"),
    ("ratings", "cds_rating", "issued_at"),
    ("feedback", "cds_feedback", "received_at"),
)


def _cutoff(retention_days: int, now: float | None) -> int:
    return int(now if now is not None else time.time()) - retention_days * DAY


def expired(db: Database, retention_days: int, now: float | None = None) -> dict:
    """What `purge` would delete, counted per table without deleting (`purge --dry-run`)."""
    cutoff = _cutoff(retention_days, now)
    return {
        name: db.query(f"SELECT COUNT(*) FROM {table} WHERE {column} < ?", (cutoff,))[0][0]
        for name, table, column in PURGED
    }


def purge(db: Database, retention_days: int, now: float | None = None) -> dict:
    """Delete cards, ratings and feedback older than the retention period; counts per table."""
    cutoff = _cutoff(retention_days, now)
    with db.transaction():
        return {
            name: db.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,)) for name, table, column in PURGED
        }
