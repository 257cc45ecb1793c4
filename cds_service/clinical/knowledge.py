"""Loads hooks/knowledge/ and refuses to start when any of it is wrong.

The files are edited by clinical informaticists, not programmers. Each is checked against its
JSON Schema (hooks/schemas/knowledge/), every regular expression is compiled, every cross-file
reference (card -> override reason, card -> source, rule -> order class, ...) is resolved, and
every summary is rendered with every side wording to prove it stays under 140 characters. Any
failure raises ContentError naming the file, at start-up rather than in front of a clinician.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from ..content import ContentError, Schemas, read_json
from .codes import CodeSet
from .reading.reader import Reader
from .text import Judge, TextConcept, compile_any

FILES = (
    "valuesets",
    "orders",
    "text",
    "nlp",
    "lexicon",
    "cards",
    "override-reasons",
    "sources",
    "rules",
    "pama",
    "contrast",
)

# What the renderer supplies to each template; a template naming anything else is a content error.
FRAGMENT_FIELDS = {
    "allergyNote": {"allergies"},
    "ctOrderedNote": {"orders"},
    "workupDone": {"studies"},
    "evidenceProblem": {"name", "date", "extra"},
    "evidenceDocument": {"what", "title", "date", "detail"},
    "otherSide": {"name", "massSide", "side"},
    "unavailableNote": {"what"},
    "orderLine": {"order"},
    "pregnancyRecord": {"what", "date", "ref"},
    "neonateAge": {"days", "bound"},
}
SUMMARY_FIELDS = {"side", "sideAdj", "patientGroup"}
RENDER_FIELDS = {
    "side",
    "sideAdj",
    "order",
    "evidence",
    "workup",
    "pathway",
    "differential",
    "pediatricNote",
    "allergyNote",
    "ctOrderedNote",
    "unavailableNote",
    "references",
    "patientGroup",
    "orderLine",
    "pregnancyRecord",
    "neonateAge",
}
MAX_SUMMARY = 139


@dataclass(frozen=True)
class OrderClass:
    id: str
    label: str
    modality: str
    codes: CodeSet


@dataclass(frozen=True)
class Knowledge:
    raw: dict  # file stem -> parsed JSON, for wording and rule tables
    value_sets: dict[str, CodeSet]
    concepts: dict[str, TextConcept]
    order_classes: dict[str, OrderClass]
    precedence: tuple[str, ...]
    order_text: dict[str, re.Pattern]
    order_index: dict[tuple[str, str], str]  # (canonical system, code) -> order class: one lookup per coding
    siteless_orders: frozenset  # order codes that name no body site (generic FNA, US guidance): the words must
    modality_index: dict[tuple[str, str], str]  # (canonical system, code) -> "us" | "ct" | "mr"
    aliases: dict[str, str]
    reader: Reader  # report narratives (medspaCy, built on first use)

    def key(self, coding) -> tuple[str, str] | None:
        """(canonical system, code) of a Coding dict, or None when either is missing."""
        if not isinstance(coding, dict):
            return None
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return None
        return self.aliases.get(system, system), code.strip()

    @property
    def cards(self) -> dict:
        return self.raw["cards"]

    @property
    def rules(self) -> dict:
        return self.raw["rules"]

    @property
    def suggested_order(self) -> dict:
        return self.raw["orders"]["suggestedOrder"]

    @property
    def override_reasons(self) -> dict:
        return self.raw["override-reasons"]

    @property
    def pama(self) -> dict:
        return self.raw["pama"]

    @property
    def contrast(self) -> dict:
        return self.raw["contrast"]

    @property
    def sources(self) -> dict:
        return self.raw["sources"]

    def value_set(self, name: str) -> CodeSet:
        return self.value_sets[name]


def _patterns(path: Path, where: str, patterns: list[str]) -> re.Pattern:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ContentError(f"{path}: {where}: invalid pattern {pattern!r}: {exc}") from None
    return compile_any(patterns)


def _fields(path: Path, where: str, template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ContentError(f"{path}: {where}: malformed template: {exc}") from None


def _require(path: Path, ok: bool, message: str) -> None:
    if not ok:
        raise ContentError(f"{path}: {message}")


def _read(folder: Path, schemas: Schemas) -> tuple[dict, dict[str, Path]]:
    docs, paths = {}, {}
    for stem in FILES:
        path = folder / f"{stem}.json"
        doc = read_json(path)
        problems = sorted(
            schemas.validator(f"knowledge/{stem}.schema.json").iter_errors(doc), key=lambda e: list(e.path)
        )
        if problems:
            where = "/".join(str(p) for p in problems[0].absolute_path) or "(root)"
            raise ContentError(f"{path}: {where}: {problems[0].message[:300]}")
        docs[stem], paths[stem] = doc, path
    return docs, paths


def _aliases(doc: dict) -> dict[str, str]:
    aliases = {}
    for canonical, others in (doc.get("systemAliases") or {}).items():
        aliases.update({other: canonical for other in others})
    return aliases


def _build_concepts(doc: dict, path: Path, judge: Judge) -> dict[str, TextConcept]:
    return {
        name: TextConcept(
            name,
            _patterns(path, f"concepts/{name}/present", spec["present"]),
            _patterns(path, f"concepts/{name}/absent", spec["absent"]) if spec.get("absent") else None,
            judge,
        )
        for name, spec in doc["concepts"].items()
    }


def _build_orders(doc: dict, path: Path, aliases: dict[str, str]) -> tuple[dict, tuple, dict]:
    classes = {}
    owner: dict[tuple[str, str], str] = {}
    for cid, spec in doc["classes"].items():
        codes = CodeSet(spec["codes"], aliases)
        for key in codes.keys():
            _require(path, key not in owner, f"classes/{cid}: code {key[1]} is also in class {owner.get(key)}")
            owner[key] = cid
        classes[cid] = OrderClass(cid, spec["label"], spec["modality"], codes)
    precedence = tuple(doc["precedence"])
    _require(path, set(precedence) == set(classes), "precedence must list every class exactly once")
    _require(path, doc["suggestedOrder"]["class"] in classes, "suggestedOrder/class is not a defined class")
    text = {key: _patterns(path, f"text/{key}", value) for key, value in doc["text"].items() if key != "description"}
    return classes, precedence, text


def _check_cross_refs(docs: dict, paths: dict, classes: dict) -> None:
    cards, rules, sources, reasons = docs["cards"], docs["rules"], docs["sources"], docs["override-reasons"]
    kinds = cards["kinds"]
    for i, rule in enumerate(rules["orders"]):
        _require(
            paths["rules"],
            rule["class"] in classes or rule["class"] == "other",
            f"orders/{i}: unknown order class {rule['class']!r}",
        )
        _require(
            paths["rules"],
            "card" not in rule or rule["card"] in kinds,
            f"orders/{i}: unknown card kind {rule.get('card')!r}",
        )
    for cid in docs["pama"]["ratedClasses"]:
        _require(paths["pama"], cid in classes, f"ratedClasses: unknown order class {cid!r}")
    for i, rule in enumerate(rules["patientView"]):
        _require(
            paths["rules"],
            "card" not in rule or rule["card"] in kinds,
            f"patientView/{i}: unknown card kind {rule.get('card')!r}",
        )
    for sid, source in sources["sources"].items():
        _require(
            paths["sources"], source["topic"] in sources["topics"], f"sources/{sid}: unknown topic {source['topic']!r}"
        )
    for group, ids in sources["citedOnEveryCard"].items():
        for sid in ids:
            _require(paths["sources"], sid in sources["sources"], f"citedOnEveryCard/{group}: unknown source {sid!r}")
            _require(
                paths["sources"],
                group in sources["sources"][sid]["audience"],
                f"citedOnEveryCard/{group}: source {sid!r} is not for {group} patients (its audience)",
            )
    for why, reason in docs["contrast"]["overrideReasons"].items():
        _require(
            paths["contrast"],
            reason in reasons["reasons"],
            f"overrideReasons/{why}: unknown override reason {reason!r}",
        )
    declared = set(cards["placeholders"])
    _require(
        paths["cards"], declared <= RENDER_FIELDS, f"placeholders: unknown names {sorted(declared - RENDER_FIELDS)}"
    )
    for kid, kind in kinds.items():
        where = f"kinds/{kid}"
        for reason in kind["overrideReasons"]:
            _require(paths["cards"], reason in reasons["reasons"], f"{where}: unknown override reason {reason!r}")
        _require(
            paths["cards"],
            set(kind.get("links", {})) <= set(kind["source"]),
            f"{where}: links for a group without a source",
        )
        for group in kind["source"]:  # a card cites and links only sources written for its patient
            for sid in [kind["source"][group], *kind.get("links", {}).get(group, ())]:
                _require(paths["cards"], sid in sources["sources"], f"{where}: unknown source {sid!r}")
                _require(
                    paths["cards"],
                    group in sources["sources"][sid]["audience"],
                    f"{where}: source {sid!r} is not for {group} patients (its audience)",
                )
        detail_fields = _fields(paths["cards"], f"{where}/detail", kind["detail"])
        _require(
            paths["cards"],
            detail_fields <= declared,
            f"{where}/detail: unknown placeholders {sorted(detail_fields - declared)}",
        )
        summary_fields = _fields(paths["cards"], f"{where}/summary", kind["summary"])
        _require(
            paths["cards"],
            summary_fields <= SUMMARY_FIELDS,
            f"{where}/summary: only {sorted(SUMMARY_FIELDS)} may be used, got {sorted(summary_fields)}",
        )
        for side in cards["sides"]:
            for group in cards["patientGroups"].values():
                text = kind["summary"].format(
                    side=cards["sides"][side], sideAdj=cards["sideAdjectives"][side], patientGroup=group
                )
                _require(
                    paths["cards"],
                    len(text) <= MAX_SUMMARY,
                    f"{where}/summary: {len(text)} characters when rendered (limit {MAX_SUMMARY}): {text!r}",
                )
    for name, allowed in FRAGMENT_FIELDS.items():
        used = _fields(paths["cards"], f"fragments/{name}", cards["fragments"][name])
        _require(paths["cards"], used <= allowed, f"fragments/{name}: unknown placeholders {sorted(used - allowed)}")
    for name in ("pathway", "pediatricNote", "workupNone", "referencesHeading"):
        _require(
            paths["cards"],
            not _fields(paths["cards"], f"fragments/{name}", cards["fragments"][name]),
            f"fragments/{name}: takes no placeholders",
        )


def _check_reading(docs: dict, paths: dict) -> None:
    """Cross-references the schemas cannot see, and every pattern compiled, named by its place."""
    nlp, lexicon = docs["nlp"], docs["lexicon"]
    for where, patterns in [
        ("clauseBreaks", nlp["clauseBreaks"]),
        ("attributionBreaks", nlp["attributionBreaks"]),
        ("forwardBreaks", nlp["forwardBreaks"]),
        ("revisionCues", nlp["revisionCues"]),
        ("calciumWithoutOwner", nlp["calciumWithoutOwner"]),
        ("sections/fields", nlp["sections"]["fields"]),
        *((f"sections/columns/{k}", v) for k, v in nlp["sections"]["columns"].items()),
        *((f"modifiers/{i}", [m["pattern"]]) for i, m in enumerate(nlp["modifiers"])),
    ]:
        _patterns(paths["nlp"], where, patterns)
    categories = [c["category"] for c in nlp["sections"]["categories"]]
    _require(paths["nlp"], len(set(categories)) == len(categories), "sections/categories: each category once")
    for needed in ("addendum", "findings", nlp["sections"]["default"]):
        _require(paths["nlp"], needed in categories, f"sections/categories: no {needed!r} category")
    kinds = [s["kind"] for s in lexicon["structures"]]
    _require(paths["lexicon"], len(set(kinds)) == len(kinds), "structures: each kind once")
    _require(paths["lexicon"], "mass" in {s["class"] for s in lexicon["structures"]}, "structures: no mass class")
    for s in lexicon["structures"]:
        where = f"structures/{s['kind']}"
        _require(paths["lexicon"], s.get("organ") in (None, *kinds), f"{where}/organ: unknown kind {s.get('organ')!r}")
        _require(paths["lexicon"], s["source"] in lexicon["sources"], f"{where}/source: unknown source {s['source']!r}")
        for part in ("heads", "adjectives"):
            _patterns(paths["lexicon"], f"{where}/{part}", s.get(part) or [])
    for name, spec in lexicon["attributes"].items():
        for part, value in spec.items() if isinstance(spec, dict) else [("", spec)]:
            if part not in ("term", "source"):
                _patterns(paths["lexicon"], f"attributes/{name}/{part}", value if isinstance(value, list) else [value])
    for name, value in lexicon["links"].items():
        _patterns(paths["lexicon"], f"links/{name}", value)


def _build_reader(docs: dict, paths: dict) -> Reader:
    _check_reading(docs, paths)
    return Reader(docs["nlp"], docs["lexicon"])


def load_knowledge(hooks_dir: Path, schemas: Schemas) -> Knowledge:
    """Read, validate and compile hooks_dir/knowledge; raises ContentError naming the bad file."""
    folder = Path(hooks_dir) / "knowledge"
    if not folder.is_dir():
        raise ContentError(f"{folder}: knowledge folder not found")
    docs, paths = _read(folder, schemas)
    aliases = _aliases(docs["valuesets"])
    value_sets = {name: CodeSet(spec["codes"], aliases) for name, spec in docs["valuesets"]["valueSets"].items()}
    reader = _build_reader(docs, paths)
    concepts = _build_concepts(docs["text"], paths["text"], reader.assertor)
    risk = docs["contrast"]["kidneyRisk"]
    risk_words = {name: spec["text"] for group in ("conditions", "medications") for name, spec in risk[group].items()}
    concepts.update(
        {
            f"kidney-risk/{n}": c
            for n, c in _build_concepts({"concepts": risk_words}, paths["contrast"], reader.assertor).items()
        }
    )
    classes, precedence, order_text = _build_orders(docs["orders"], paths["orders"], aliases)
    _check_cross_refs(docs, paths, classes)
    value_sets.update(
        {f"contrast/{name}": CodeSet(codes, aliases) for name, codes in docs["contrast"]["valueSets"].items()}
    )
    value_sets.update(
        {
            f"kidney-risk/{name}": CodeSet(spec["codes"], aliases)
            for group in ("conditions", "medications")
            for name, spec in risk[group].items()
        }
    )
    order_index = {key: cid for cid, spec in classes.items() for key in spec.codes.keys()}
    siteless = frozenset(
        (aliases.get(c["system"], c["system"]), c["code"])
        for spec in docs["orders"]["classes"].values()
        for c in spec["codes"]
        if c.get("needsSite")
    )
    modality_index = {
        key: name
        for name, vs in (("us", "modality-ultrasound"), ("ct", "modality-ct"), ("mr", "modality-mr"))
        for key in value_sets[vs].keys()
    }
    return Knowledge(
        raw=docs,
        value_sets=value_sets,
        concepts=concepts,
        order_classes=classes,
        precedence=precedence,
        order_text=order_text,
        order_index=order_index,
        siteless_orders=siteless,
        modality_index=modality_index,
        aliases=aliases,
        reader=reader,
    )
