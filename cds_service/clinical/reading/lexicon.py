"""The words a report sentence uses for structures and their attributes, compiled from
hooks/knowledge/lexicon.json.

A sentence is read as the things it names (a mass, a kidney, a vessel, a stone, ...) and what it
says about them (calcified, size, side, depth). Finding those words is plain regular-expression
work over one bounded sentence; overlapping matches keep the longest ("renal artery" is a vessel,
not the kidney's adjective followed by "artery"). What the words mean is data: an informaticist
adds a synonym or a new structure without touching Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A term matches as whole words: a term that begins (ends) with a letter or digit may not be
# glued to another one, while one that begins or ends with punctuation ("w/", "c/w", "=") may be
# ("w/calcs" is the shorthand for "with calcs").
_START = r"(?:(?<![A-Za-z0-9])(?=[A-Za-z0-9])|(?=[^A-Za-z0-9]))"
_END = r"(?:(?<=[A-Za-z0-9])(?![A-Za-z0-9])|(?<=[^A-Za-z0-9]))"

# classes of structure: only a 'mass' can be the flank mass; an 'organ' is a place (it locates a
# mass, or owns calcium of its own parenchyma); every other class owns its calcium.
MASS, ORGAN = "mass", "organ"
VARIANT = "variant"  # normal anatomy that mimics a mass (a column of Bertin): a lesion said to be one is no mass


def words(patterns: list[str]) -> re.Pattern:
    """One case-insensitive alternation of whole-word terms, longest alternatives first."""
    ordered = sorted(patterns, key=len, reverse=True)
    return re.compile(_START + "(?:" + "|".join(f"(?:{p})" for p in ordered) + ")" + _END, re.IGNORECASE)


@dataclass(frozen=True)
class Structure:
    kind: str
    cls: str  # mass | organ | cyst | vessel | node | stone | bone | clip | phlebolith | granuloma | gas | artefact
    term: str
    region: str | None  # flank | abdomen | other | superficial | None (a mass: from where it sits)
    organ: str | None  # a named tumour's organ (Wilms: kidney)
    heads: re.Pattern | None
    adjectives: re.Pattern | None


@dataclass(frozen=True)
class Mention:
    """One word group of a sentence: a structure (head noun or adjective) or an attribute."""

    layer: str  # structure | calcium | side | size | depth
    start: int
    end: int
    text: str
    kind: str = ""  # the structure kind, or the attribute's value (left, superficial, nominal, ...)
    head: bool = False  # a structure's noun (not its adjective)
    negative: bool = False  # calcium explicitly absent ("non-calcified", "non-shadowing")
    value: float | None = None  # size in cm


@dataclass(frozen=True)
class Lexicon:
    structures: tuple[Structure, ...]
    by_kind: dict[str, Structure]
    calc_nominal: re.Pattern
    calc_adjectival: re.Pattern
    calc_sonographic: re.Pattern
    calc_absent: re.Pattern
    superficial: re.Pattern
    deep: re.Pattern
    sides: dict[str, re.Pattern]
    size: re.Pattern
    links: dict[str, re.Pattern]
    relevant: re.Pattern  # any mass or calcium word: the cheap test of whether a line is worth reading

    @classmethod
    def build(cls, doc: dict) -> Lexicon:
        structures = tuple(
            Structure(
                kind=s["kind"],
                cls=s["class"],
                term=s["term"],
                region=s.get("region"),
                organ=s.get("organ"),
                heads=words(s["heads"]) if s.get("heads") else None,
                adjectives=words(s["adjectives"]) if s.get("adjectives") else None,
            )
            for s in doc["structures"]
        )
        attrs = doc["attributes"]
        calc, depth, side = attrs["calcification"], attrs["depth"], attrs["side"]
        mass_words = [p for s in doc["structures"] if s["class"] == MASS for p in s.get("heads", ())]
        calcium_words = calc["nominal"] + calc["adjectival"] + calc["sonographic"] + calc["absent"]
        return cls(
            structures=structures,
            by_kind={s.kind: s for s in structures},
            calc_nominal=words(calc["nominal"]),
            calc_adjectival=words(calc["adjectival"]),
            calc_sonographic=words(calc["sonographic"]),
            calc_absent=words(calc["absent"]),
            superficial=words(depth["superficial"]),
            deep=words(depth["deep"]),
            sides={name: words(side[name]) for name in ("bilateral", "left", "right")},
            size=re.compile(attrs["size"], re.IGNORECASE),
            links={name: words(terms) for name, terms in doc["links"].items()},
            relevant=words(mass_words + calcium_words),
        )

    def sides_in(self, text: str) -> set[str]:
        return {name for name, pattern in self.sides.items() if pattern.search(text)}

    def mentions(self, text: str) -> list[Mention]:
        """Every structure, calcium, side, size and depth mention of one sentence, in text order.
        Structure mentions never overlap one another (the longest wins, then the lexicon's order);
        the attribute layers are found independently of the structures."""
        found: list[tuple[int, int, int, Mention]] = []
        for rank, structure in enumerate(self.structures):
            for pattern, is_head in ((structure.heads, True), (structure.adjectives, False)):
                if pattern is None:
                    continue
                for m in pattern.finditer(text):
                    found.append(
                        (
                            m.start(),
                            -(m.end() - m.start()),
                            rank * 2 + (not is_head),
                            Mention("structure", m.start(), m.end(), m.group(0), structure.kind, is_head),
                        )
                    )
        kept = _longest(found)
        for m in self.calc_absent.finditer(text):
            kept.append(Mention("calcium", m.start(), m.end(), m.group(0), "absent", negative=True))
        calcium = []
        for form, pattern in (
            ("sonographic", self.calc_sonographic),
            ("adjectival", self.calc_adjectival),
            ("nominal", self.calc_nominal),
        ):
            for m in pattern.finditer(text):
                calcium.append(
                    (m.start(), -(m.end() - m.start()), 0, Mention("calcium", m.start(), m.end(), m.group(0), form))
                )
        absent = [k for k in kept if k.layer == "calcium"]
        kept += [c for c in _longest(calcium) if not any(a.start <= c.start < a.end for a in absent)]
        for name, pattern in self.sides.items():
            for m in pattern.finditer(text):
                kept.append(Mention("side", m.start(), m.end(), m.group(0), name))
        for m in self.size.finditer(text):
            value = float(m.group(1)) / (10 if m.group(2).lower() == "mm" else 1)
            kept.append(Mention("size", m.start(), m.end(), m.group(0), value=value))
        for name, pattern in (("superficial", self.superficial), ("deep", self.deep)):
            for m in pattern.finditer(text):
                kept.append(Mention("depth", m.start(), m.end(), m.group(0), name))
        return sorted(_drop_nested_sides(kept), key=lambda k: (k.start, k.end))


def _longest(found: list[tuple[int, int, int, Mention]]) -> list[Mention]:
    """Non-overlapping mentions, preferring the longest, then the earliest-listed kind."""
    kept: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for _, _, _, mention in sorted(found, key=lambda f: (f[1], f[0], f[2])):
        if all(mention.end <= s or mention.start >= e for s, e in taken):
            kept.append(mention)
            taken.append((mention.start, mention.end))
    return kept


def _drop_nested_sides(mentions: list[Mention]) -> list[Mention]:
    """'left and right' is one bilateral mention, not also a left and a right one."""
    both = [m for m in mentions if m.layer == "side" and m.kind == "bilateral"]
    return [
        m
        for m in mentions
        if not (m.layer == "side" and m.kind != "bilateral" and any(b.start <= m.start < b.end for b in both))
    ]
