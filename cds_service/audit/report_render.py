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
}
_LATER = "accepted, then overridden"


def _style(*series: str) -> Style:
    return Style(
        background="white",
        plot_background="#fafafa",
        font_family="system-ui, sans-serif",
        colors=tuple(_COLOURS[name] for name in series),
    )


def _integer_axis(maximum: int) -> list[int]:
    step = max(1, -(-maximum // 8))
    return list(range(0, maximum + step, step))


def _pct(rate) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def text(report: dict) -> str:
    t = report["totals"]
    lines = [
        f"CDS card report, {report['since']} to {report['generatedAt'][:10]} ({report['days']} days)",
        f"Cards shown {t['cards']}, accepted {t['accepted']}, overridden {t['overridden']}, "
        f"{_LATER} {t['acceptedThenOverridden']}, no feedback {t['noFeedback']}; "
        f"acceptance {_pct(t['acceptanceRate'])}",
        "",
    ]
    for service in report["services"]:
        lines.append(service["service"])
        lines.append(
            f"  {'card kind':<28}{'shown':>7}{'accepted':>10}{'overridden':>12}{'acc.+overr.':>13}{'acceptance':>12}"
        )
        for kind in service["kinds"]:
            lines.append(
                f"  {kind['kind']:<28}{kind['cards']:>7}{kind['accepted']:>10}{kind['overridden']:>12}"
                f"{kind['acceptedThenOverridden']:>13}{_pct(kind['acceptanceRate']):>12}"
            )
            for reason in kind["overrideReasons"]:
                lines.append(f"      override: {reason['display']} ({reason['code']}) x{reason['count']}")
        lines.append("")
    if report["daily"]:
        lines.append("Daily trend (shown / accepted / overridden)")
        lines.extend(f"  {d['day']}  {d['cards']:>5} {d['accepted']:>5} {d['overridden']:>5}" for d in report["daily"])
    if report["ratings"]:
        lines.append("Appropriateness ratings returned (order kind, rating, count)")
        lines.extend(f"  {r['orderKind']:<24}{r['rating']:<18}{r['count']:>5}" for r in report["ratings"])
    lines.extend(report_site.text_lines(report))
    if report["unmatchedFeedback"]:
        lines.append(f"Feedback for cards not in the ledger: {report['unmatchedFeedback']}")
    return "\n".join(lines) + "\n"


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _svg(chart) -> str:
    """Static SVG: pygal's tooltip script (fetched from the web) and its inline config are dropped."""
    chart.js = []
    return _SCRIPT.sub("", chart.render(is_unicode=True, disable_xml_declaration=True))


def _charts(report: dict) -> list[tuple[str, str]]:
    charts = []
    kinds = [(s["service"], k) for s in report["services"] for k in s["kinds"]]
    if kinds:
        bar = pygal.StackedBar(
            style=_style("Accepted", "Accepted, then overridden", "Overridden", "No feedback"),
            height=360,
            x_label_rotation=20,
            legend_at_bottom=True,
            title="Outcome by card kind",
        )
        bar.y_labels = _integer_axis(max(k["cards"] for _, k in kinds))
        # the same card kind can come from two services (order-select, order-sign): name the hook too
        bar.x_labels = [f"{k['kind']} ({'-'.join(service.split('-')[-2:])})" for service, k in kinds]
        for label, field in (
            ("Accepted", "accepted"),
            ("Accepted, then overridden", "acceptedThenOverridden"),
            ("Overridden", "overridden"),
            ("No feedback", "noFeedback"),
        ):
            bar.add(label, [k[field] for _, k in kinds])
        charts.append(("Outcome by card kind", _svg(bar)))
    if report["daily"]:
        line = pygal.Line(
            style=_style("Shown", "Accepted", "Overridden"),
            height=320,
            x_label_rotation=30,
            legend_at_bottom=True,
            title="Daily trend",
            show_minor_x_labels=False,
        )
        line.y_labels = _integer_axis(max(d["cards"] for d in report["daily"]))
        line.x_labels = [d["day"] for d in report["daily"]]
        line.x_labels_major_every = max(1, len(report["daily"]) // 10)
        for label, field in (("Shown", "cards"), ("Accepted", "accepted"), ("Overridden", "overridden")):
            line.add(label, [d[field] for d in report["daily"]])
        charts.append(("Daily trend", _svg(line)))
    reasons: dict[str, int] = {}
    for _, kind in kinds:
        for reason in kind["overrideReasons"]:
            reasons[reason["display"]] = reasons.get(reason["display"], 0) + reason["count"]
    if reasons:
        hbar = pygal.HorizontalBar(
            style=_style("Overrides"), height=100 + 40 * len(reasons), title="Override reasons", show_legend=False
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
                f"<tr><td>{e(service['service'])}</td><td>{e(kind['kind'])}</td><td>{kind['cards']}</td>"
                f"<td>{kind['accepted']}</td><td>{kind['overridden']}</td><td>{kind['acceptedThenOverridden']}</td>"
                f"<td>{_pct(kind['acceptanceRate'])}</td>"
                f"<td>{top}</td></tr>"
            )
    ratings = "".join(
        f"<tr><td>{e(r['orderKind'])}</td><td>{e(r['rating'])}</td><td>{r['count']}</td></tr>"
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
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:64rem;color:#222}}
table{{border-collapse:collapse;width:100%;margin:1rem 0}}th,td{{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}}
th{{background:#f3f3f3}}.kpi{{display:flex;gap:1rem}}.kpi div{{border:1px solid #ccc;padding:.6rem 1rem;border-radius:.4rem}}
.kpi b{{display:block;font-size:1.6rem}}figure{{margin:1.5rem 0}}
</style></head><body>
<h1>CDS card report</h1>
<p>{e(report["since"])} to {e(report["generatedAt"][:10])} ({report["days"]} days). Calcified flank mass imaging pathway.</p>
<div class="kpi"><div><b>{t["cards"]}</b>cards shown</div><div><b>{t["accepted"]}</b>accepted</div>
<div><b>{t["overridden"]}</b>overridden</div><div><b>{t["acceptedThenOverridden"]}</b>accepted, then overridden</div><div><b>{_pct(t["acceptanceRate"])}</b>acceptance</div></div>
<h2>By service and card kind</h2>{empty}
<table><thead><tr><th>Service</th><th>Card kind</th><th>Shown</th><th>Accepted</th><th>Overridden</th>
<th>Accepted, then overridden</th><th>Acceptance</th><th>Top override reasons</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
{figures}
{ratings_table}
{report_site.html_section(report)}
<p>Acceptance = (accepted + accepted, then overridden) / cards with feedback. A card accepted and later
overridden is counted in its own column, its reason among the override reasons. Cards without feedback count as shown only.
Feedback for cards not in the ledger: {report["unmatchedFeedback"]}.</p>
</body></html>
"""
