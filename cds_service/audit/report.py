"""Aggregates the card ledger and feedback into what a CDS governance committee reviews.

The unit is the clinician's decision (audit.decisions: one patient, draft order and card kind
within the session window), not the call: an EHR re-calls order-select on every edit of the order
and each call shows the card again. Cards shown (calls) are reported beside the decisions.
A decision's outcome is its latest feedback item on any of its cards (a clinician may dismiss,
then accept), with one exception kept visible: accepted and later overridden (the CDS Hooks Sandbox
leaves a card on screen after its suggestion is taken, so "accept, then dismiss with a reason"
happens naturally) is counted as `acceptedThenOverridden`, not silently as overridden. Decisions
with no feedback count as shown only. acceptanceRate = (accepted + acceptedThenOverridden) /
decisions with feedback: how often the suggestion was applied when someone acted on the card;
responseRate = decisions with feedback / decisions. Override reasons are grouped by system and code and shown with the display from
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
    """Outcomes are counted per decision; `cards` is the cards shown (calls) beside them."""
    decisions, accepted, overridden, both = (
        count["decisions"],
        count["accepted"],
        count["overridden"],
        count["acceptedThenOverridden"],
    )
    responded = accepted + overridden + both
    return {
        "decisions": decisions,
        "cards": count["cards"],
        "accepted": accepted,
        "overridden": overridden,
        "acceptedThenOverridden": both,
        "noFeedback": decisions - responded,
        "acceptanceRate": _rate(accepted + both, responded),
        "responseRate": _rate(responded, decisions),
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


def _knowledge(path, read) -> dict:
    """`read(document)` of a knowledge file; empty when the file cannot be read or lacks the part:
    the report then shows codes instead of words, never fails."""
    import json
    from pathlib import Path

    try:
        return read(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def load_reason_displays(path) -> dict[tuple[str, str], str]:
    """(system, code) -> display from an override-reasons.json."""
    return _knowledge(path, lambda doc: {(doc["system"], code): name for code, name in doc["reasons"].items()})


def report_for(db: Database, since_days: int, hooks_dir, now: float | None = None) -> dict:
    """The report with the knowledge's words: override reasons' displays and card kinds' titles."""
    knowledge = hooks_dir / "knowledge"
    data = build(
        db,
        since_days,
        now=now,
        reason_displays=load_reason_displays(knowledge / "override-reasons.json"),
        titles=load_titles(knowledge / "cards.json"),
    )
    data["ratingNames"] = load_rating_names(knowledge / "pama.json")
    return data


def load_rating_names(path) -> dict[str, dict]:
    """rating -> its text and the words clients show instead, from a pama.json."""

    def read(doc: dict) -> dict:
        clients = [(p["name"], p.get("clientCodes") or {}) for p in doc["profiles"]]
        return {
            code: {"text": text, "clientCodes": {name: codes[code] for name, codes in clients if code in codes}}
            for code, text in doc["ratings"].items()
        }

    return _knowledge(path, read)


def load_titles(path) -> dict[str, str]:
    """card kind -> its title, from a cards.json."""
    return _knowledge(path, lambda doc: {kind: spec["title"] for kind, spec in doc["kinds"].items()})


def _decisions(rows, displays: dict) -> dict[str, dict]:
    """The shown cards grouped into decisions (audit.decisions); a card recorded without a decision
    id is one decision. Each decision belongs to the service and day it was first shown, and keeps
    its cards (service and time of each call) and every feedback item about any of them."""
    found: dict[str, dict] = {}
    for uuid, service, kind, issued, decision_id, outcome, outcome_at, system, code, display in sorted(
        rows, key=lambda row: row[3]
    ):
        decision = found.setdefault(
            decision_id or uuid,
            {"service": service, "kind": kind, "issued": issued, "cards": {}, "history": [], "reason": None},
        )
        decision["cards"][uuid] = (service, issued)
        if outcome is None:
            continue
        decision["history"].append((outcome_at, outcome))
        if outcome == "overridden" and code and outcome_at >= (decision.get("reason_at") or -1):
            decision.update(reason=(system, code), reason_at=outcome_at)
            if display:
                displays.setdefault((system, code), display)
    return found


def build(
    db: Database,
    since_days: int,
    now: float | None = None,
    reason_displays: dict[tuple[str, str], str] | None = None,
    titles: dict[str, str] | None = None,
) -> dict:
    now = int(now if now is not None else time.time())
    cutoff = now - since_days * DAY
    rows = db.query(
        "SELECT c.uuid, c.service_id, c.kind, c.issued_at, c.decision_id, f.outcome, f.outcome_at,"
        " f.override_system, f.override_code, f.override_display"
        " FROM cds_card c LEFT JOIN cds_feedback f ON f.card_uuid = c.uuid"
        " WHERE c.issued_at >= ? AND c.disposition = 'shown'",
        (cutoff,),
    )
    displays = dict(reason_displays or {})
    titles = titles or {}

    groups: dict[tuple, Counter] = defaultdict(Counter)
    reasons: dict[tuple, Counter] = defaultdict(Counter)
    daily: dict[str, Counter] = defaultdict(Counter)
    for decision in _decisions(rows, displays).values():
        key = (decision["service"], decision["kind"])
        day = _day(decision["issued"])
        outcome = _outcome(decision["history"])
        for counter in (groups[key], daily[day]):
            counter["decisions"] += 1
            if outcome:
                counter[outcome] += 1
        for service, issued in decision["cards"].values():  # calls: where and when each card was shown
            groups[(service, decision["kind"])]["cards"] += 1
            daily[_day(issued)]["cards"] += 1
        if outcome in ("overridden", "acceptedThenOverridden") and decision["reason"]:
            reasons[key][decision["reason"]] += 1

    services: dict[str, list] = defaultdict(list)
    for (service, kind), count in sorted(groups.items()):
        entry = {"kind": kind, "title": titles.get(kind, kind), **_counts(count)}
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
                "decisions": c["decisions"],
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
