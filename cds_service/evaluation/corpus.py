"""Runs labelled charts through the service's HTTP path and scores the answers.

Each chart (fixtures/corpus/README.md describes the format) is posted to the app exactly as an
EHR would post it, with `fhirServer` pointing at a loopback stand-in that holds the chart's
Binaries. A chart is positive when its label expects at least one card; sensitivity and
specificity are card-vs-silence, and a chart also fails when the card kinds, indicators or
order verdicts differ from its label. Nothing is written to the hospital's report database: the
app runs against a throwaway SQLite file that is deleted afterwards.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ..pipeline.rate import client_code
from ..site import SiteHolder
from .standin import StandIn


@dataclass
class Outcome:
    name: str
    cls: str
    hook: str
    decision: str
    expected_positive: bool
    got_positive: bool
    ok: bool
    why: str = ""
    ms: float = 0.0


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _count(self, items, expected: bool, got: bool) -> int:
        return sum(1 for o in items if o.expected_positive == expected and o.got_positive == got)

    def sensitivity(self, items=None) -> float | None:
        """Card vs silence: charts labelled with a card that got one."""
        items = self.outcomes if items is None else items
        positives = [o for o in items if o.expected_positive]
        return sum(o.got_positive for o in positives) / len(positives) if positives else None

    def specificity(self, items=None) -> float | None:
        items = self.outcomes if items is None else items
        negatives = [o for o in items if not o.expected_positive]
        return sum(not o.got_positive for o in negatives) / len(negatives) if negatives else None

    def accuracy(self) -> float | None:
        """Charts whose cards (kind, indicator) and verdicts all match the label."""
        return sum(o.ok for o in self.outcomes) / len(self.outcomes) if self.outcomes else None

    def latency(self) -> tuple[float, float]:
        times = sorted(o.ms for o in self.outcomes)
        if not times:
            return 0.0, 0.0
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        return statistics.median(times), p95


# Labels written before the ratings had one vocabulary (hooks/knowledge/pama.json "ratings").
LABEL_ALIASES = {"no-criteria": "no-criteria-apply"}


def load(folder: Path) -> list[dict]:
    charts = []
    for path in sorted(Path(folder).glob("*.json")):
        doc = orjson.loads(path.read_bytes())
        if isinstance(doc, dict) and isinstance(doc.get("request"), dict) and "expect" in doc:
            doc.setdefault("name", path.stem)
            charts.append(doc)
    return charts


def _kinds_by_summary(kb) -> dict[str, tuple[str, str]]:
    cards = kb.cards
    return {
        spec["summary"].format(side=cards["sides"][s], sideAdj=cards["sideAdjectives"][s], patientGroup=g): (kind, s)
        for kind, spec in cards["kinds"].items()
        for s in cards["sides"]
        for g in cards["patientGroups"].values()
    }


def _verdicts(body: dict, kb) -> dict[str, str]:
    found = {}
    for profile in kb.pama["profiles"]:
        codes = {client_code(profile, v): v for v in kb.pama["ratings"]}
        actions = (
            body.get("systemActions")
            if profile["placement"] == "systemActions"
            else (body.get("extension") or {}).get("systemActions")
        )
        for action in actions or ():
            resource = action.get("resource") or {}
            for ext in resource.get("extension") or ():
                if ext.get("url") == profile["ratingUrl"]:
                    code = ext["valueCodeableConcept"]["coding"][0]["code"]
                    found[f"{resource.get('resourceType')}/{resource.get('id')}"] = codes.get(code, code)
    return found


# The label's word for a side, and the card wording's (cards.json `sides`).
SIDES = {"left": "left", "right": "right", "bilateral": "bilateral", "unspecified": "unknown"}


def _judge(chart: dict, status: int, body: dict, kinds: dict, kb) -> tuple[bool, bool, str]:
    expect = chart["expect"]
    wanted = [(c["kind"], c["indicator"]) for c in expect.get("cards") or ()]
    if status != 200:
        return False, bool(wanted) is False, f"HTTP {status}: {str(body)[:200]}"
    named = [kinds.get(c.get("summary"), ("?", None)) for c in body.get("cards") or ()]
    got = [(kind, c.get("indicator")) for (kind, _), c in zip(named, body.get("cards") or (), strict=True)]
    problems = []
    if got != wanted:
        problems.append(f"cards {got} != expected {wanted}")
    side = SIDES.get(expect.get("side") or "")
    if side and named and any(s != side for _, s in named):
        problems.append(f"side {[s for _, s in named]} != expected {side}")
    for card, want in zip(
        body.get("cards") or (), expect.get("cards") or (), strict=False
    ):  # counts differ: said above
        detail = (card.get("detail") or "").casefold()  # words, whatever their case in the sentence
        problems += [f"detail lacks {w!r}" for w in want.get("detailIncludes", ()) if w.casefold() not in detail]
        problems += [f"detail says {w!r}" for w in want.get("detailExcludes", ()) if w.casefold() in detail]
    verdicts = _verdicts(body, kb)
    for ref, verdict in (expect.get("verdicts") or {}).items():
        verdict = LABEL_ALIASES.get(verdict, verdict)
        if verdicts.get(ref) != verdict:
            problems.append(f"verdict {ref} {verdicts.get(ref)} != {verdict}")
    return bool(got), not problems, "; ".join(problems)


def _clock(now):
    """The chart's own moment of evaluation (`now`, ISO 8601) as the app's clock, so a chart's
    dates mean the same thing whenever the corpus is run; the wall clock when it has none."""
    if not isinstance(now, str):
        return time.time
    moment = datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()
    return lambda: moment


@contextmanager
def _under_site(runtime, site: dict | None, tmp: str):
    """A chart may name the site file it is judged under (`site`, the object a CDS_SITE_CONFIG file
    would hold, validated the same way); it applies to that chart only, then the runtime's own
    site and knowledge are put back."""
    if site is None:
        yield
        return
    saved = (runtime.site, runtime.knowledge)
    path = Path(tmp) / "site.json"
    path.write_text(orjson.dumps(site).decode())
    try:
        runtime.site = SiteHolder(str(path), runtime.content.schemas, runtime.content.services, saved[1], None)
        runtime.knowledge = runtime.site.current().knowledge
        yield
    finally:
        runtime.site, runtime.knowledge = saved


def run(folder: Path, settings_overrides: dict | None = None) -> Result:
    from .. import create_app
    from ..config import Settings

    charts = load(folder)
    result = Result()
    with tempfile.TemporaryDirectory(prefix="cds-eval-") as tmp, StandIn() as stand_in:
        overrides: dict[str, Any] = {
            "auth_mode": "off",
            "database_url": f"sqlite:///{tmp}/eval.sqlite3",
            "log_level": "ERROR",
        }
        overrides.update(settings_overrides or {})
        app = create_app(Settings.from_env(**overrides))
        runtime = app.extensions["cds"]
        kb = runtime.knowledge
        kinds = _kinds_by_summary(kb)
        client = app.test_client()
        for chart in charts:
            stand_in.serve(chart.get("serverResources") or [])
            request = dict(chart["request"])
            request["fhirServer"] = stand_in.url
            request["fhirAuthorization"] = {
                "access_token": stand_in.token,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "cds-eval",
            }
            runtime.clock = _clock(chart.get("now"))
            with _under_site(runtime, chart.get("site"), tmp):
                started = time.perf_counter()
                response = client.post(
                    f"/cds-services/{chart['service']}", data=orjson.dumps(request), content_type="application/json"
                )
                ms = (time.perf_counter() - started) * 1000

            body = response.get_json(silent=True) or {}
            got, ok, why = _judge(chart, response.status_code, body, kinds, kb)
            result.outcomes.append(
                Outcome(
                    chart["name"],
                    chart.get("class", "-"),
                    request.get("hook", "-"),
                    chart.get("decision", "-"),
                    bool(chart["expect"].get("cards")),
                    got,
                    ok,
                    why,
                    ms,
                )
            )
        app.extensions["cds"].ledger.flush()
    return result


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{value * 100:5.1f}%"


def table(result: Result) -> str:
    lines = []
    total = result.outcomes
    sens, spec = result.sensitivity(), result.specificity()
    p50, p95 = result.latency()
    lines.append(
        f"charts {len(total)}  all labels matched {sum(o.ok for o in total)} ({_pct(result.accuracy()).strip()})  "
        f"sensitivity {_pct(sens)}  "
        f"specificity {_pct(spec)}  latency p50 {p50:.1f} ms  p95 {p95:.1f} ms"
    )
    tp, fn, tn, fp = (
        result._count(total, e, g) for e, g in ((True, True), (True, False), (False, False), (False, True))
    )
    lines.append("")
    lines.append(f"{'confusion (card vs silence)':<30} {'label: card':>12} {'label: silent':>14}")
    lines.append(f"{'  answered with a card':<30} {tp:>12} {fp:>14}")
    lines.append(f"{'  answered silently':<30} {fn:>12} {tn:>14}")
    groups = [("class", lambda o: o.cls), ("hook", lambda o: o.hook)]
    if any(o.decision != "-" for o in total):
        groups.append(("decision", lambda o: o.decision))
    for title, key in groups:
        lines.append("")
        lines.append(
            f"{title:<30} {'n':>4} {'TP':>4} {'FN':>4} {'TN':>4} {'FP':>4} {'wrong':>6} {'sens':>7} {'spec':>7}"
        )
        for group in sorted({key(o) for o in total}):
            items = [o for o in total if key(o) == group]
            tp = sum(1 for o in items if o.expected_positive and o.got_positive)
            fn = sum(1 for o in items if o.expected_positive and not o.got_positive)
            tn = sum(1 for o in items if not o.expected_positive and not o.got_positive)
            fp = sum(1 for o in items if not o.expected_positive and o.got_positive)
            wrong = sum(1 for o in items if not o.ok and o.expected_positive == o.got_positive)
            lines.append(
                f"{group:<30} {len(items):>4} {tp:>4} {fn:>4} {tn:>4} {fp:>4} {wrong:>6} "
                f"{_pct(result.sensitivity(items)):>7} {_pct(result.specificity(items)):>7}"
            )
    misses = [o for o in total if not o.ok]
    lines.append("")
    lines.append(f"misses: {len(misses)}")
    for o in misses:
        lines.append(f"  {o.name} [{o.cls}]: {o.why}")
    return "\n".join(lines) + "\n"
