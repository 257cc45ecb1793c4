"""Turns a report (audit.report.build) into text for a terminal or HTML for a committee pack.

Charts are inline SVG drawn by pygal with its JavaScript disabled, so the HTML file is
self-contained: it opens offline, from an e-mail attachment or a document store.
"""

from __future__ import annotations

import html
import re

import pygal
from pygal.style import Style

from . import report_site

# One colour per meaning on every chart: shown grey-blue, accepted green, overridden amber, none grey.
_COLOURS = {
    "Shown": "#4a6fa5",
    "Accepted": "#2e8b57",
    "Overridden": "#d9822b",
    "No feedback": "#b0b0b0",
    "Overrides": "#d9822b",
    "Accepted, then overridden": "#8fbc5a",
    "Decisions": "#1f3b66",
}
_LATER = "accepted, then overridden"


def _style(*series: str) -> Style:
    return Style(
        background="white",
        plot_background="#fafafa",
        font_family="system-ui, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=13,
        value_font_size=12,
        title_font_size=16,
        colors=tuple(_COLOURS[name] for name in series),
    )


def _integer_axis(maximum: int) -> list[int]:
    step = max(1, -(-maximum // 8))
    return list(range(0, maximum + step, step))


def _pct(rate) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def _hook(service: str) -> str:
    """flank-mass-imaging-order-select -> order-select: the part of a service id a reader needs."""
    return "-".join(service.split("-")[-2:])


def _rating(report: dict, code: str) -> str:
    """A rating in the one vocabulary, with the word a client shows for it where that differs."""
    named = (report.get("ratingNames") or {}).get(code) or {}
    shown = "; ".join(f"{word} in {client}" for client, word in (named.get("clientCodes") or {}).items())
    return f"{code} ({shown})" if shown else code


def text(report: dict) -> str:
    t = report["totals"]
    lines = [
        f"CDS card report, {report['since']} to {report['generatedAt'][:10]} ({report['days']} days)",
        f"Decisions {t['decisions']} (cards shown {t['cards']}), accepted {t['accepted']}, "
        f"overridden {t['overridden']}, {_LATER} {t['acceptedThenOverridden']}, no feedback {t['noFeedback']}; "
        f"acceptance {_pct(t['acceptanceRate'])}",
        "A decision: one patient, draft order and card, however often it was shown in one session.",
        "",
    ]
    width = max([len(k["title"]) + 2 for s in report["services"] for k in s["kinds"]] + [20])  # never cut a title
    for service in report["services"]:
        lines.append(service["service"])
        lines.append(
            f"  {'card':<{width}}{'decisions':>10}{'shown':>7}{'accepted':>10}{'overridden':>12}"
            f"{'acc.+overr.':>13}{'no feedback':>13}{'acceptance':>12}"
        )
        for kind in service["kinds"]:
            lines.append(
                f"  {kind['title']:<{width}}{kind['decisions']:>10}{kind['cards']:>7}{kind['accepted']:>10}"
                f"{kind['overridden']:>12}{kind['acceptedThenOverridden']:>13}{kind['noFeedback']:>13}"
                f"{_pct(kind['acceptanceRate']):>12}"
            )
            for reason in kind["overrideReasons"]:
                lines.append(f"      override: {reason['display']} ({reason['code']}) x{reason['count']}")
        lines.append("")
    if report["daily"]:
        lines.append("Daily trend (decisions / cards shown / accepted / overridden)")
        lines.extend(
            f"  {d['day']}  {d['decisions']:>5} {d['cards']:>5} {d['accepted']:>5} {d['overridden']:>5}"
            for d in report["daily"]
        )
    if report["ratings"]:
        lines.append("Appropriateness ratings returned (order kind, rating, count)")
        lines.extend(
            f"  {r['orderKind']:<24}{_rating(report, r['rating']):<48}{r['count']:>5}" for r in report["ratings"]
        )
    lines.extend(report_site.text_lines(report))
    if report["unmatchedFeedback"]:
        lines.append(f"Feedback for cards not in the ledger: {report['unmatchedFeedback']}")
    return "\n".join(lines) + "\n"


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _svg(chart) -> str:
    """Static SVG: pygal's tooltip script (fetched from the web) and its inline config are dropped."""
    chart.js = []
    return _SCRIPT.sub("", chart.render(is_unicode=True, disable_xml_declaration=True))


# Charts are drawn 1,000 px wide (the page is at most 76 rem): a screenshot at 1280 px shows them whole.
# Labels are never cut (truncate_label=-1): pygal sizes its margins to the longest one.
_WIDTH = 1000
_COMMON = {"width": _WIDTH, "truncate_label": -1, "truncate_legend": -1, "print_values": True, "print_zeroes": False}


def _charts(report: dict) -> list[tuple[str, str]]:
    charts = []
    kinds = [(s["service"], k) for s in report["services"] for k in s["kinds"]]
    if kinds:
        bar = pygal.HorizontalStackedBar(
            style=_style("Accepted", "Accepted, then overridden", "Overridden", "No feedback"),
            height=160 + 48 * len(kinds),
            legend_at_bottom=True,
            legend_at_bottom_columns=2,
            title="Decisions by card and outcome",
            **_COMMON,
        )
        bar.y_labels = _integer_axis(max(k["decisions"] for _, k in kinds))
        # the same card can come from two services (order-select, order-sign): name the hook too
        bar.x_labels = [f"{k['title']} ({_hook(service)})" for service, k in kinds]
        for label, field in (
            ("Accepted", "accepted"),
            ("Accepted, then overridden", "acceptedThenOverridden"),
            ("Overridden", "overridden"),
            ("No feedback", "noFeedback"),
        ):
            bar.add(label, [k[field] for _, k in kinds])
        charts.append(("Decisions by card and outcome", _svg(bar)))
    if report["daily"]:
        line = pygal.Line(
            style=_style("Shown", "Decisions", "Accepted", "Overridden"),
            height=360,
            x_label_rotation=30,
            legend_at_bottom=True,
            legend_at_bottom_columns=4,
            title="Daily trend",
            show_minor_x_labels=False,
            **{**_COMMON, "print_values": False},  # dots, not numbers: equal values of two lines would overlap
        )
        line.y_labels = _integer_axis(max(d["cards"] for d in report["daily"]))
        line.x_labels = [d["day"] for d in report["daily"]]
        line.x_labels_major_every = max(1, len(report["daily"]) // 10)
        for label, field in (
            ("Shown", "cards"),
            ("Decisions", "decisions"),
            ("Accepted", "accepted"),
            ("Overridden", "overridden"),
        ):
            line.add(label, [d[field] for d in report["daily"]])
        charts.append(("Daily trend", _svg(line)))
    reasons: dict[str, int] = {}
    for _, kind in kinds:
        for reason in kind["overrideReasons"]:
            reasons[reason["display"]] = reasons.get(reason["display"], 0) + reason["count"]
    if reasons:
        hbar = pygal.HorizontalBar(
            style=_style("Overrides"),
            height=110 + 44 * len(reasons),
            title="Override reasons",
            show_legend=False,
            **_COMMON,
        )
        hbar.y_labels = _integer_axis(max(reasons.values()))
        ranked = sorted(reasons.items(), key=lambda item: item[1])
        hbar.x_labels = [name for name, _ in ranked]
        hbar.add("Overrides", [count for _, count in ranked])
        charts.append(("Override reasons", _svg(hbar)))
    return charts


def page(report: dict) -> str:
    e = html.escape
    t = report["totals"]
    rows = []
    for service in report["services"]:
        for kind in service["kinds"]:
            top = ", ".join(f"{e(r['display'])} ({r['count']})" for r in kind["overrideReasons"][:3]) or "—"
            rows.append(
                f"<tr><td>{e(_hook(service['service']))}</td><td>{e(kind['title'])}</td><td>{kind['decisions']}</td>"
                f"<td>{kind['cards']}</td><td>{kind['accepted']}</td><td>{kind['overridden']}</td>"
                f"<td>{kind['acceptedThenOverridden']}</td><td>{kind['noFeedback']}</td>"
                f"<td>{_pct(kind['acceptanceRate'])}</td><td>{top}</td></tr>"
            )
    ratings = "".join(
        f"<tr><td>{e(r['orderKind'])}</td><td>{e(_rating(report, r['rating']))}</td><td>{r['count']}</td></tr>"
        for r in report["ratings"]
    )
    ratings_table = (
        (
            f"<h2>Appropriateness ratings returned</h2><table><thead><tr><th>Order kind</th><th>Rating</th>"
            f"<th>Orders</th></tr></thead><tbody>{ratings}</tbody></table>"
        )
        if ratings
        else ""
    )
    figures = "\n".join(f'<figure aria-label="{e(title)}">{svg}</figure>' for title, svg in _charts(report))
    empty = "" if rows else "<p>No cards were issued in this period.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CDS card report</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:76rem;color:#222}}
table{{border-collapse:collapse;width:100%;margin:1rem 0}}th,td{{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}}
th{{background:#f3f3f3}}.kpi{{display:flex;gap:1rem;flex-wrap:wrap}}.kpi div{{border:1px solid #ccc;padding:.6rem 1rem;border-radius:.4rem}}
.kpi b{{display:block;font-size:1.6rem}}figure{{margin:1.5rem 0}}figure svg{{max-width:100%;height:auto}}
</style></head><body>
<h1>CDS card report</h1>
<p>{e(report["since"])} to {e(report["generatedAt"][:10])} ({report["days"]} days). Calcified flank mass imaging pathway.</p>
<div class="kpi"><div><b>{t["decisions"]}</b>decisions</div><div><b>{t["cards"]}</b>cards shown</div>
<div><b>{t["accepted"]}</b>accepted</div><div><b>{t["overridden"]}</b>overridden</div>
<div><b>{t["acceptedThenOverridden"]}</b>accepted, then overridden</div><div><b>{t["noFeedback"]}</b>no feedback</div>
<div><b>{_pct(t["acceptanceRate"])}</b>acceptance</div></div>
<h2>By service and card</h2>{empty}
<table><thead><tr><th>Hook</th><th>Card</th><th>Decisions</th><th>Shown</th><th>Accepted</th><th>Overridden</th>
<th>Accepted, then overridden</th><th>No feedback</th><th>Acceptance</th><th>Top override reasons</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{figures}
{ratings_table}
{report_site.html_section(report)}
<p>A decision is one patient, draft order and card: the EHR asks again on every change of the order, and
the card shown again within the session window is the same decision (shown counts every time it was shown).
Acceptance = (accepted + accepted, then overridden) / decisions with feedback. A decision accepted and later
overridden is counted in its own column, its reason among the override reasons. Decisions without feedback count as shown only.
Feedback for cards not in the ledger: {report["unmatchedFeedback"]}.</p>
</body></html>
"""
