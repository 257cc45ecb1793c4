"""Stage 7: decisions become CDS Hooks cards, worded entirely from hooks/knowledge/cards.json.

Every card and suggestion gets a fresh uuid (clients key feedback on them), suggestions always
come with selectionBehavior, override reasons carry their display, and the source carries a
coded topic. Values taken from the chart are flattened to one short line before they enter
markdown, so a stray newline in a report title cannot restructure the card.
"""

from __future__ import annotations

import re
import uuid

from ..audit.ledger import IssuedCard
from ..clinical import contrast
from ..clinical.orders import order_name
from ..clinical.suggest import ct_request
from .exchange import Exchange

MAX_LABEL = 100
MAX_DOCUMENT_LINES = 2  # reports or studies cited; the newest finding first


def _line(value, limit: int = MAX_LABEL) -> str:
    """One line of chart text for markdown, cut at a word boundary with an ellipsis, no trailing
    full stop (templates add their own punctuation)."""
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text.rstrip(".")


# Written with a literal prefix so the regex engine skips ahead to each run (1 µs a card); the
# equivalent \n{3,} tries a match at every character (12 µs), and str.replace in a loop is no better.
_BLANK_RUNS = re.compile("\n\n\n+")


def _paragraphs(text: str) -> str:
    """Blank lines left by empty optional parts collapse to one."""
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _date(value) -> str:
    return f", {value[:10]}" if isinstance(value, str) and value else ""


def _quoted(text: str | None) -> str:
    """The report's own sentence, in quotation marks, at most about 200 characters."""
    if not text:
        return ""
    said = _line(text, 200)
    return f": “{said}{'' if said.endswith('…') else '.'}”"


def _document_lines(kb, evidence) -> list[str]:
    """One line per report or study that shows the finding: what it is, its title and date, and the
    sentence that ties calcification to the mass (or what was coded), newest first."""
    frag = kb.cards["fragments"]
    what, how = frag["evidenceWhat"], frag["calcificationHow"]
    lines: dict[str, str] = {}

    def add(ref: str, kind: str, title, date, detail: str) -> None:
        if ref not in lines and len(lines) < MAX_DOCUMENT_LINES:
            title = _line(title) or what[kind]
            lines[ref] = frag["evidenceDocument"].format(what=what[kind], title=title, date=_date(date), detail=detail)

    # a quoted sentence says more than a code: a report that has both is cited by its sentence
    for item in sorted(evidence.calcifications, key=lambda f: f.quote is None):
        if item.how == "condition-evidence":
            continue  # said on the problem-list line
        kind = "observation" if item.ref.startswith("Observation/") else "ultrasound-report"
        if item.ref.startswith("ImagingStudy/"):
            kind = "ultrasound-study"
        add(item.ref, kind, item.label, item.date, _quoted(item.quote) if item.quote else f" — {how[item.how]}")
    for mass in evidence.masses:
        if mass.from_report:
            add(mass.ref, "mass-report", mass.source, mass.date, _quoted(mass.quote))
    for item in evidence.ultrasounds:
        add(item.ref, item.kind, item.label, item.date, "")
    return list(lines.values())


def _evidence_lines(kb, evidence) -> str:
    frag = kb.cards["fragments"]
    lines = []
    coded = next((m for m in evidence.masses if not m.from_report), None)
    if coded is not None:
        extra = f" — {frag['calcificationHow']['condition-evidence']}" if coded.calcification_coded else ""
        recorded = f" (recorded {coded.date[:10]})" if isinstance(coded.date, str) and coded.date else ""
        lines.append(frag["evidenceProblem"].format(name=_line(coded.label), date=recorded, extra=extra))
    lines += _document_lines(kb, evidence)
    other = evidence.other_side_mass
    if evidence.side is None:
        lines.append(frag["sideUnknown"])
    elif other is not None:
        sides = kb.cards["sides"]
        lines.append(
            frag["otherSide"].format(name=_line(other.label), massSide=sides[other.side], side=sides[evidence.side])
        )
    return "\n".join(lines)


def _workup(kb, evidence) -> str:
    frag = kb.cards["fragments"]
    if not evidence.cross_sectional:
        return frag["workupNone"]
    studies = ", ".join(
        f"{_line(f.label) or f.kind.upper()} ({f.kind.upper()}{_date(f.date)})" for f in evidence.cross_sectional[:3]
    )
    return frag["workupDone"].format(studies=studies)


def _order_label(kb, decision) -> str:
    draft = decision.draft or {}
    text = order_name(draft) if draft.get("resourceType") == "ServiceRequest" else ""
    spec = kb.order_classes.get(decision.order_class)
    return _line(text or (spec.label if spec else "this order"))


def _source(kb, source_id: str) -> dict:
    sources = kb.sources
    src = sources["sources"][source_id]
    topic = {"system": sources["topicSystem"], "code": src["topic"], "display": sources["topics"][src["topic"]]}
    return {"label": src["label"], "url": src.get("url"), "topic": topic}


def _suggestion(kb, evidence, decision, context) -> dict:
    spec = kb.cards["actions"][decision.action]
    if decision.action == "cancel-draft":
        action = {"type": "delete", "description": spec["description"], "resourceId": decision.draft_ref}
    elif decision.action == "update-draft-to-ct":
        action = {
            "type": "update",
            "description": spec["description"],
            "resource": ct_request(kb, evidence, context, decision.draft),
        }
    else:
        action = {"type": "create", "description": spec["description"], "resource": ct_request(kb, evidence, context)}
    return {"label": spec["label"], "uuid": str(uuid.uuid4()), "isRecommended": True, "actions": [action]}


def _override_order(kb, evidence, spec, suggests_ct: bool) -> list[str]:
    """The card's override reasons, the ones matching a contrast safety finding first."""
    first = contrast.override_first(kb, evidence.safety) if suggests_ct else []
    return first + [r for r in spec["overrideReasons"] if r not in first]


def _unavailable_note(kb, evidence, unavailable) -> str:
    """One line naming what the answer could not check (optional prefetch keys not obtainable).
    The medication list only matters when no recent kidney function result is at hand (metformin
    is a reason to look for one), so it is named only then."""
    have_renal = getattr(evidence.safety, "renal", None) is not None
    unavailable = [k for k in unavailable if not (k == "medications" and have_renal)]
    if not unavailable:
        return ""
    frag = kb.cards["fragments"]
    known = frag["unavailableWhat"]  # said in the order cards.json lists them, kidney function before metformin
    ordered = [k for k in known if k in unavailable] + [k for k in unavailable if k not in known]
    return frag["unavailableNote"].format(what="; ".join(known.get(k, k) for k in ordered))


def _patient_lines(kb, evidence, decision, safety_shown: bool) -> dict:
    """The lines about who the patient is: the draft named (order cards only), the pregnancy
    record (unless the contrast section already says it) and a newborn's age."""
    frag, pregnancy = kb.cards["fragments"], getattr(evidence.safety, "pregnancy", None)
    return {
        "orderLine": frag["orderLine"].format(order=_order_label(kb, decision)) if decision.draft is not None else "",
        "pregnancyRecord": frag["pregnancyRecord"].format(
            what=_line(pregnancy.value), date=(pregnancy.date or "date not recorded")[:10], ref=pregnancy.ref
        )
        if pregnancy is not None and not safety_shown
        else "",
        "neonateAge": frag["neonateAge"].format(days=evidence.age_days, bound=evidence.neonate_below)
        if evidence.neonate
        else "",
    }


def render_card(kb, evidence, decision, context: dict, unavailable=()) -> dict:
    cards, frag = kb.cards, kb.cards["fragments"]
    spec = cards["kinds"][decision.kind]
    group = "pediatric" if evidence.pediatric else "adult"
    if group not in spec["source"]:  # a kind written for one group only (a newborn is always a child)
        group = next(iter(spec["source"]))
    side = evidence.side or "unknown"
    # the CT is advised by a card that suggests it, and by a kind that names it as the next test
    # without a suggestion (`advisesCt`: patient-view's, since clients such as the Sandbox do nothing
    # when it is accepted there); another pathway's card (pregnancy, newborn) does not advise it
    suggests_ct = decision.action in ("create-ct", "update-draft-to-ct") or bool(spec.get("advisesCt"))
    safety = (
        contrast.card_section(kb, evidence.safety, evidence.limits, suggests_ct)
        if suggests_ct or spec.get("contrastSafety")
        else ""
    )
    other_ct = [ref for ref in evidence.ct_orders if ref != decision.draft_ref]  # a CT draft is not "already ordered"
    values = {
        "side": cards["sides"][side],
        "sideAdj": cards["sideAdjectives"][side],
        "patientGroup": cards["patientGroups"][group],
        "order": _order_label(kb, decision),
        "evidence": _evidence_lines(kb, evidence),
        "workup": _workup(kb, evidence),
        "pathway": frag["pathway"],
        "differential": frag["differential"][group],
        "pediatricNote": frag["pediatricNote"] if evidence.pediatric else "",
        "allergyNote": "",  # the contrast allergy is part of the contrast safety section below
        "ctOrderedNote": frag["ctOrderedNote"].format(
            orders=", ".join(_line(evidence.order_names.get(ref) or ref) for ref in other_ct[:3])
        )
        if other_ct
        else "",
        "unavailableNote": _unavailable_note(kb, evidence, unavailable),
        "references": frag["referencesHeading"]
        + "; ".join(kb.sources["sources"][s]["label"] for s in kb.sources["citedOnEveryCard"][group]),
        **_patient_lines(kb, evidence, decision, bool(safety)),
    }
    summary = spec["summary"].format(**values)
    detail = _paragraphs(spec["detail"].format(**values))
    if safety:  # first, so it is read before the order is signed
        detail = f"{safety}\n\n{detail}"
    source_id = spec["source"][group]
    links = [
        {"label": kb.sources["sources"][s]["label"], "url": kb.sources["sources"][s]["url"], "type": "absolute"}
        for s in spec.get("links", {}).get(group, ())
        if s != source_id and kb.sources["sources"][s].get("url")
    ]
    reasons = kb.override_reasons
    card = {
        "uuid": str(uuid.uuid4()),
        "summary": summary if len(summary) < 140 else summary[:138] + "…",
        "detail": detail,
        "indicator": decision.indicator,
        "source": _source(kb, source_id),
        "overrideReasons": [
            {"system": reasons["system"], "code": r, "display": reasons["reasons"][r]}
            for r in _override_order(kb, evidence, spec, suggests_ct or bool(spec.get("contrastSafety")))
        ],
        "links": links,
    }
    if decision.action:
        card["suggestions"] = [_suggestion(kb, evidence, decision, context)]
        card["selectionBehavior"] = "at-most-one"
    return card


def run(exchange: Exchange, runtime) -> None:
    kb, evidence = runtime.knowledge, exchange.evidence
    shown = [d for d in exchange.decisions if d.kind]
    unavailable = exchange.notes.get("unavailable", ())
    cards = [render_card(kb, evidence, d, exchange.context, unavailable) for d in shown]
    exchange.response = {"cards": cards}
    exchange.issued = [
        IssuedCard(
            card["uuid"],
            d.kind,
            card["indicator"],
            tuple(s["uuid"] for s in card.get("suggestions", ())),
            draft_ref=d.draft_ref,
        )
        for d, card in zip(shown, cards, strict=True)
    ]
