"""The machinery of the generated report corpus (issue 19): labelled items, choosers, the flank
mass as a noun phrase, and report layouts. The rules themselves are in reading_rules.py.

A rule makes two kinds of choice through its `Chooser`: `pick` changes what the report says (and so
its label), `say` only changes how it is worded (a synonym, a layout). Drawing `say` from another
seed must never change a label, and a reader's verdict should not change either: that is the
synonym-and-layout invariant.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import strategies as st

from tests.support import reading_vocabulary as V

T = TypeVar("T")
SIDES = ("left", "right")
REGIONS = tuple(V.SITES)


@dataclass(frozen=True)
class Item:
    """One labelled report; `lines` are its plain-text lines."""

    family: str
    template: str
    decision: str
    lines: tuple[str, ...]
    calcified_mass: bool
    mass: bool | None  # None: the decisions leave it open (a cyst, an aneurysm), so it is not checked
    side: str | None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def side_checked(self) -> bool:
        return self.calcified_mass or self.mass is not None


class Chooser:
    """`pick` chooses what is said, `say` how it is worded."""

    def __init__(self, pick: Callable[[Sequence[Any]], Any], say: Callable[[Sequence[Any]], Any]):
        self._pick, self._say = pick, say

    def pick(self, options: Sequence[T]) -> T:
        return self._pick(options)

    def say(self, options: Sequence[T]) -> T:
        return self._say(options)

    @classmethod
    def seeded(cls, structure: str, wording: str | None = None) -> Chooser:
        what = random.Random(structure)
        how = what if wording is None else random.Random(wording)
        return cls(what.choice, how.choice)

    @classmethod
    def drawing(cls, draw: Callable[[Any], Any]) -> Chooser:
        def choose(options: Sequence[Any]) -> Any:
            return draw(st.sampled_from(options))

        return cls(choose, choose)


# -- wording helpers -----------------------------------------------------------------------------


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\b([Aa]) (?=(?:L|R|RCC|8|11|18)\b)", r"\1n ", text)  # "an L renal mass", "an 8 mm cyst"
    return re.sub(r" ([,;.])", r"\1", text)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def article(phrase: str) -> str:
    word = phrase.split()[0]
    vowel = word[0].lower() in "aeiou" or word in ("L", "R", "RCC") or word.startswith(("8", "11", "18"))
    return f"{'an' if vowel else 'a'} {phrase}"


def sentences(text: str) -> tuple[str, ...]:
    """A run of sentences, one per line (a layout may join them again)."""
    return tuple(re.split(r"(?<=[.?])\s+(?=[A-Z])", text))


def be(plural: bool) -> str:
    return "are" if plural else "is"


def side_word(c: Chooser, side: str) -> str:
    return c.say(V.SIDE_WORDS[side])


def other(side: str) -> str:
    return "right" if side == "left" else "left"


# -- the flank mass as a noun phrase -------------------------------------------------------------


@dataclass(frozen=True)
class Mass:
    """A flank mass worded three ways: plain, calcified, and explicitly not calcified."""

    side: str | None
    plain: str
    calcified: str
    noncalcified: str
    calcium: str
    calcium_plural: bool
    ref: str
    named: str
    named_head: bool  # the noun is itself a named tumour

    def forms(self, which: str = "calcified") -> dict[str, str]:
        phrase = getattr(self, which)
        sized = phrase if re.match(r"\d", phrase) else f"{V.SIZES[0]} {phrase}"
        return {
            "mass": phrase,
            "Mass": cap(phrase),
            "a_mass": article(phrase),
            "A_mass": cap(article(phrase)),
            "the_mass": f"the {phrase}",
            "The_mass": f"The {phrase}",
            "sized_mass": sized,
            "A_plain": cap(article(self.plain)),
            "A_noncalcified": cap(article(self.noncalcified)),
            "calcium": self.calcium,
            "Calcium": cap(self.calcium),
            "calcium_bare": re.sub(r"^an? ", "", self.calcium),
            "be": be(self.calcium_plural),
            "ref": self.ref,
            "named": self.named,
        }


def flank_mass(c: Chooser, side: str | None = None, region: str | None = None, sized: bool = True) -> Mass:
    """A deep flank-region mass on `side` (picked when not given), worded by `say`."""
    region = region or c.pick(REGIONS)
    side = side or c.pick(SIDES)
    named = c.say(V.NAMED_TUMOURS[region])
    noun = c.say(tuple(n for n, _ in V.GENERIC_NOUNS) + (named,))
    site = c.say(V.SITES[region])
    if "renal" in noun:  # "left renal cell carcinoma", not "left renal renal cell carcinoma"
        site = site.replace("renal {n}", "{n}")
    size = c.say(V.SIZES + ("",) * 3) if sized else ""
    composition = c.say(V.COMPOSITIONS)
    words = side_word(c, side)
    calcium, plural = c.say(V.CALCIUM)
    premodified = c.say((True, False))

    def phrase(*adjectives: str) -> str:
        return tidy(site.format(adj=" ".join((size, *adjectives, composition)), s=words, n=noun))

    plain = phrase()
    if premodified:
        calcified = phrase(c.say(V.CALCIFIED))
    else:
        calcified = f"{plain} {c.say(V.ATTACH_VERBS)} {calcium}"
    return Mass(
        side=side,
        plain=plain,
        calcified=calcified,
        noncalcified=phrase(c.say(("non-calcified", "noncalcified"))),
        calcium=calcium,
        calcium_plural=plural,
        ref=c.say(V.BACK_REFERENCES),
        named=named,
        named_head=noun == named,
    )


def bilateral_mass(c: Chooser) -> str:
    noun = c.say(V.GENERIC_NOUNS)[1]
    site = c.say(V.BILATERAL_SITES)
    calcium, _ = c.say(V.CALCIUM)
    if c.say((True, False)):
        return tidy(site.format(adj=c.say(V.CALCIFIED), ns=noun))
    return tidy(f"{site.format(adj=c.say(V.COMPOSITIONS), ns=noun)} {c.say(('with', 'containing'))} {calcium}")


def fill(frame: str, **forms: str) -> str:
    return tidy(cap(frame.format_map(forms)))


def mass_sentence(c: Chooser, phrase: str, tail: str = "") -> str:
    """A sentence that states the mass (`phrase`, without article), with an optional diagnosis tail."""
    frame = c.say(("{A}{tail}.", "There is {a}{tail}.", "{A} is {seen}{tail}."))
    return fill(frame, A=cap(article(phrase)), a=article(phrase), seen=c.say(V.SEEN), tail=tail)


def diagnosis(c: Chooser, mass: Mass) -> str:
    """ ", consistent with Wilms tumour" and the like, or nothing (always nothing after a named tumour)."""
    tail = c.say(V.DIAGNOSIS_TAILS).format(named=mass.named)
    return "" if mass.named_head else tail


def refers_back(c: Chooser, mass: Mass) -> str:
    """A sentence after the mass's own that gives the mass its calcium (attrib.refers-back)."""
    frame = c.say(
        (
            "It contains {calcium}.",
            "It demonstrates {calcium}.",
            "The {ref} shows {calcium}.",
            "The {ref} contains {calcium}.",
            "{Calcium} {be} {seen} within the {ref}.",
            "{Calcium} {be} {seen}.",
            "There {be} {calcium} within the {ref}.",
            "Within the {ref} there {be} {calcium}.",
            "The {ref} is {calcified}.",
        )
    )
    return fill(frame, **mass.forms(), seen=c.say(V.SEEN), calcified=c.say(V.CALCIFIED))


def other_calcium(c: Chooser, side: str | None = None) -> tuple[str, bool | None]:
    sentence, is_mass = c.pick(V.OTHER_CALCIUM_SENTENCES)
    s = side or c.pick(SIDES)
    words = side_word(c, s)
    return fill(sentence, s=words, S=cap(words)), is_mass


# -- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    lines: tuple[str, ...]
    calcified_mass: bool
    mass: bool | None
    side: str | None


@dataclass(frozen=True)
class Rule:
    family: str
    name: str
    decision: str
    build: Callable[[Chooser], Said]
    sentences: bool  # a few sentences that a report layout may wrap

    def item(self, c: Chooser) -> Item:
        said = self.build(c)
        lines = layout(c, said.lines) if self.sentences else said.lines
        return Item(self.family, self.name, self.decision, lines, said.calcified_mass, said.mass, said.side)


FAMILIES: dict[str, list[Rule]] = {}


def rule(family: str, decision: str, sentences: bool = True) -> Callable[[Callable[[Chooser], Said]], Rule]:
    def register(build: Callable[[Chooser], Said]) -> Rule:
        made = Rule(family, build.__name__, decision, build, sentences)
        FAMILIES.setdefault(family, []).append(made)
        return made

    return register


def positive(side: str | None, *lines: str) -> Said:
    return Said(tuple(lines), True, True, side)


def mass_only(side: str | None, *lines: str) -> Said:
    return Said(tuple(lines), False, True, side)


def nothing(*lines: str, mass: bool | None = False) -> Said:
    return Said(tuple(lines), False, mass, None)


def layout(c: Chooser, lines: tuple[str, ...]) -> tuple[str, ...]:
    """Sentences as they may sit in a report: bare, under a findings title, after history/technique."""
    style = c.say(("bare", "bare", "title", "inline", "header", "technique", "history", "split"))
    title = c.say(V.FINDING_TITLES)
    if style == "title":
        return (f"{title}:", *lines)
    if style == "inline":
        return (f"{title}: {lines[0]}", *lines[1:])
    if style == "header":
        return (c.say(V.EXAM_HEADERS), title.upper(), *lines)
    if style == "technique":
        return (f"Technique: {c.say(V.TECHNIQUE_LINES)}", f"{title}:", *lines)
    if style == "history":
        history = fill(c.say(V.HISTORY_STATEMENTS[:4]), s=c.say(SIDES), S=cap(c.say(SIDES)))
        return (f"{c.say(('History', 'Hx', 'Clinical details', 'Indication'))}: {history}", f"{title}:", *lines)
    if style == "split":
        return tuple(lines)
    return (" ".join(lines),)
