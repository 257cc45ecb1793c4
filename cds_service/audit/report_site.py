"""The site-configuration part of the committee report: what shadow services would have shown,
and what suppression or caps held back, beside the live numbers (which count shown cards only)."""

from __future__ import annotations

import html
from collections import defaultdict

from ..storage import Database


def held_back(db: Database, cutoff: int) -> dict:
    shadow: dict[str, dict] = defaultdict(lambda: {"cards": 0, "kinds": {}, "ratings": {}})
    other: dict[str, list] = {"suppressed": [], "capped": []}
    for service, disposition, kind, count in db.query(
        "SELECT service_id, disposition, kind, COUNT(*) FROM cds_card WHERE issued_at >= ? AND disposition <> 'shown'"
        " GROUP BY service_id, disposition, kind ORDER BY service_id, kind",
        (cutoff,),
    ):
        if disposition == "shadow":
            shadow[service]["cards"] += count
            shadow[service]["kinds"][kind] = count
        elif disposition in other:
            other[disposition].append({"service": service, "kind": kind, "count": count})
    for service, rating, count in db.query(
        "SELECT service_id, rating, COUNT(*) FROM cds_rating WHERE issued_at >= ? AND shadow = 1"
        " GROUP BY service_id, rating ORDER BY service_id, rating",
        (cutoff,),
    ):
        shadow[service]["ratings"][rating] = count
    return {"shadow": [{"service": s, **v} for s, v in sorted(shadow.items())], **other}


def _pairs(counts: dict) -> str:
    return ", ".join(f"{name} x{n}" for name, n in counts.items()) or "none"


def text_lines(report: dict) -> list[str]:
    lines = []
    if report.get("shadow"):
        lines.append("Shadow mode (computed and recorded, not shown)")
        lines.extend(
            f"  {s['service']}: would have fired {s['cards']} times; kinds: {_pairs(s['kinds'])}; "
            f"ratings: {_pairs(s['ratings'])}"
            for s in report["shadow"]
        )
    for key, title in (
        ("suppressed", "Suppressed repeated alerts (overridden with a reason)"),
        ("capped", "Held back by the card cap or a per-call option"),
    ):
        if report.get(key):
            lines.append(title)
            lines.extend(f"  {r['service']}  {r['kind']} x{r['count']}" for r in report[key])
    return lines


def html_section(report: dict) -> str:
    e = html.escape
    parts = []
    if report.get("shadow"):
        rows = "".join(
            f"<tr><td>{e(s['service'])}</td><td>{s['cards']}</td><td>{e(_pairs(s['kinds']))}</td>"
            f"<td>{e(_pairs(s['ratings']))}</td></tr>"
            for s in report["shadow"]
        )
        parts.append(
            "<h2>Shadow mode: would have fired</h2><table><thead><tr><th>Service</th><th>Cards</th>"
            f"<th>Kinds</th><th>Ratings</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    for key, title in (("suppressed", "Suppressed repeated alerts"), ("capped", "Held back by cap or option")):
        if report.get(key):
            rows = "".join(
                f"<tr><td>{e(r['service'])}</td><td>{e(r['kind'])}</td><td>{r['count']}</td></tr>" for r in report[key]
            )
            parts.append(
                f"<h2>{title}</h2><table><thead><tr><th>Service</th><th>Card kind</th><th>Cards</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>"
            )
    return "\n".join(parts)
