"""Aggregates the card ledger and feedback into what a CDS governance committee reviews.

A card's outcome is its latest feedback item (a clinician may dismiss, then accept); cards with no
feedback count as shown only. acceptanceRate = accepted / (accepted + overridden): how often the
advice was taken when someone acted on it; responseRate = cards with feedback / cards shown.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

from ..storage import Database
from .report_site import held_back

DAY = 86400


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _counts(cards: int, accepted: int, overridden: int) -> dict:
    return {"cards": cards, "accepted": accepted, "overridden": overridden,
            "noFeedback": cards - accepted - overridden,
            "acceptanceRate": _rate(accepted, accepted + overridden),
            "responseRate": _rate(accepted + overridden, cards)}


def build(db: Database, since_days: int, now: float | None = None) -> dict:
    now = int(now if now is not None else time.time())
    cutoff = now - since_days * DAY
    rows = db.query(
        "SELECT c.uuid, c.service_id, c.kind, c.issued_at, f.outcome, f.outcome_at,"
        " f.override_system, f.override_code, f.override_display"
        " FROM cds_card c LEFT JOIN cds_feedback f ON f.card_uuid = c.uuid"
        " WHERE c.issued_at >= ? AND c.disposition = 'shown'", (cutoff,))
    cards: dict[str, dict] = {}
    for uuid, service, kind, issued, outcome, outcome_at, system, code, display in rows:
        card = cards.setdefault(uuid, {"service": service, "kind": kind, "issued": issued, "outcome": None, "at": -1})
        if outcome is not None and outcome_at >= card["at"]:
            card.update(outcome=outcome, at=outcome_at, reason=(system, code, display) if code else None)

    groups: dict[tuple, Counter] = defaultdict(Counter)
    reasons: dict[tuple, Counter] = defaultdict(Counter)
    daily: dict[str, Counter] = defaultdict(Counter)
    for card in cards.values():
        key = (card["service"], card["kind"])
        day = _day(card["issued"])
        groups[key]["cards"] += 1
        daily[day]["cards"] += 1
        if card["outcome"]:
            groups[key][card["outcome"]] += 1
            daily[day][card["outcome"]] += 1
        if card["outcome"] == "overridden" and card.get("reason"):
            reasons[key][card["reason"]] += 1

    services: dict[str, list] = defaultdict(list)
    for (service, kind), count in sorted(groups.items()):
        entry = {"kind": kind, **_counts(count["cards"], count["accepted"], count["overridden"])}
        entry["overrideReasons"] = [
            {"system": s, "code": c, "display": d or c, "count": n}
            for (s, c, d), n in sorted(reasons[(service, kind)].items(), key=lambda item: (-item[1], item[0][1]))]
        services[service].append(entry)

    total = Counter()
    for count in groups.values():
        total.update(count)
    unmatched = db.query(
        "SELECT COUNT(*) FROM cds_feedback f WHERE f.received_at >= ?"
        " AND NOT EXISTS (SELECT 1 FROM cds_card c WHERE c.uuid = f.card_uuid)", (cutoff,))[0][0]
    ratings = db.query("SELECT order_kind, rating, COUNT(*) FROM cds_rating WHERE issued_at >= ? AND shadow = 0"
                       " GROUP BY order_kind, rating ORDER BY order_kind, rating", (cutoff,))
    return {
        "generatedAt": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "since": _day(cutoff),
        "days": since_days,
        "totals": _counts(total["cards"], total["accepted"], total["overridden"]),
        "services": [{"service": s, "kinds": kinds} for s, kinds in sorted(services.items())],
        "daily": [{"day": d, "cards": c["cards"], "accepted": c["accepted"], "overridden": c["overridden"]}
                  for d, c in sorted(daily.items())],
        "ratings": [{"orderKind": k, "rating": r, "count": n} for k, r, n in ratings],
        "unmatchedFeedback": unmatched,
        **held_back(db, cutoff),  # shadow, suppressed and capped cards, beside the live numbers
    }


def purge(db: Database, retention_days: int, now: float | None = None) -> dict:
    """Delete cards, ratings and feedback older than the retention period; counts per table."""
    cutoff = int(now if now is not None else time.time()) - retention_days * DAY
    with db.transaction():
        return {
            "cards": db.execute("DELETE FROM cds_card WHERE issued_at < ?", (cutoff,)),
            "ratings": db.execute("DELETE FROM cds_rating WHERE issued_at < ?", (cutoff,)),
            "feedback": db.execute("DELETE FROM cds_feedback WHERE received_at < ?", (cutoff,)),
        }
