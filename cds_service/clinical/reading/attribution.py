"""From sentences to what the report says about each mass: which statements refer to the same mass,
whose calcium a sentence without a structure of its own describes, and what an addendum revises.

A mass is named once and then referred to: "It contains ...", "The lesion shows ...", or a
sentence such as "Internal calcification is noted." that names no structure at all. Such a
sentence belongs to the last mass named in its section, and only to a mass that still stands (a
negated "no mass" is not referred back to). A definite mention ("the mass") that gives no place or
side of its own is the mass named before it. An addendum or amendment is read after the body and
outranks it: what it says about the mass's calcification (or that there is no mass) replaces what
the body said; calcium it gives to another structure while revising ("on review, the echogenic
focus is a renal artery aneurysm") withdraws the body's calcification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .findings import COUNTED, Calcium, SentenceReading, Thing
from .lexicon import MASS
from .sections import Section

MAX_QUOTE = 200
_FORMER = re.compile(r"\b(?:the\s+)?(?:former|latter)\b", re.IGNORECASE)


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """One line of the source sentence, cut at a word boundary with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


@dataclass(frozen=True)
class MassStatement:
    """One mass as the report describes it."""

    region: str  # flank | abdomen | unspecified | other | superficial
    side: str | None
    size_cm: float | None
    calcified: bool  # counted calcification that belongs to this mass
    assertion: str  # present | uncertain | negated | hypothetical | historical | other-subject
    phrase: str  # the sentence that names the mass, one line, for the card
    calcium_phrase: str = ""  # the sentence that ties calcium to it, when another one
    calcium_denied: bool = False  # the report says this mass has no calcification

    @property
    def counted(self) -> bool:
        return self.assertion in COUNTED


@dataclass
class _Mass:
    thing: Thing
    sentence: str
    region: str
    side: str | None
    size_cm: float | None
    assertion: str
    calcium: list[tuple[Calcium, str]] = field(default_factory=list)  # with the sentence each came from
    target: _Mass | None = None  # for an addendum's statement: the body's mass it revises
    corrected_side: str | None = None  # ... and the side it gives that mass instead
    revised: bool | None = None  # the addendum's word on its calcification

    def calcified(self) -> bool:
        if self.revised is not None:
            return self.revised
        return any(c.assertion in COUNTED and not c.negative for c, _ in self.calcium)


class Attributor:
    """Aggregates the sentence readings of one document into mass statements (shared by every
    call; each document is worked through by its own _Work)."""

    def __init__(self, organ_regions: dict[str, str | None]):
        self.organ_regions = organ_regions  # organ kind -> region: an organ heading places its masses

    def statements(self, sections: list[tuple[Section, list[SentenceReading]]]) -> list[MassStatement]:
        work = _Work(self.organ_regions)
        for section, readings in sorted(sections, key=lambda s: s[0].override):
            work.section(section, readings)
        _settle(work.body, work.revisions, work.withdrawn)
        kept = work.body + [m for m in work.revisions if m.target is None and m.assertion in COUNTED]
        return [_statement(m) for m in kept]


class _Work:
    """One document's masses as its sentences are read, in order."""

    def __init__(self, organ_regions: dict[str, str | None]):
        self.organ_regions = organ_regions
        self.body: list[_Mass] = []
        self.revisions: list[_Mass] = []  # what addenda and amendments say
        self.withdrawn = False  # an addendum gave the calcium to another structure
        self.context_side: str | None = None  # within a section: the side last spoken of
        self.previous: list[_Mass] = []  # the masses the last sentence named, in order ("the former")

    def section(self, section: Section, readings: list[SentenceReading]) -> None:
        found = self.revisions if section.override else self.body
        last: _Mass | None = None
        self.context_side = section.side
        for reading in readings:
            # a reference with no mass named yet in its section is to the report's last mass that
            # still stands ("Liver: No focal lesion." is not what "Left kidney: The lesion ..." means)
            standing = [m for m in self.body if m.assertion in COUNTED]
            fallback = standing[-1] if standing and (section.override or last is None) else None
            last = self._sentence(section, reading, found, last, fallback, revises=section.override)
            self.withdrawn = self.withdrawn or (section.override and _gives_away(reading))

    @staticmethod
    def _former_or_latter(thing: Thing, masses: list[_Mass]) -> _Mass | None:
        """ "the former" is the first of the masses just named, "the latter" the last."""
        if not masses:
            return None
        return masses[0] if thing.text.lower().endswith("former") else masses[-1]

    def carry_side(self, sides: set[str]) -> None:
        """The side a sentence spoke of carries to the next ("Normal right kidney. No mass.")."""
        if len(sides) == 1:
            self.context_side = next(iter(sides))

    def _region(self, thing: Thing, section: Section) -> str:
        if thing.depth == "superficial":
            return "superficial"
        if thing.region:
            return thing.region
        if section.organ:
            return self.organ_regions.get(section.organ) or "unspecified"
        return "unspecified"

    def _new(self, thing: Thing, section: Section, sentence: str, found: list[_Mass], target=None) -> _Mass:
        corrected = thing.side if target is not None and thing.side and thing.side != target.side else None
        mass = _Mass(
            thing,
            sentence,
            target.region if target else self._region(thing, section),
            (target.side if target else None) or thing.side or self.context_side,
            thing.size_cm,
            thing.assertion,
            target=target,
            corrected_side=corrected,
        )
        found.append(mass)
        return mass

    def _sentence(self, section, reading, found: list[_Mass], last, fallback, revises: bool) -> _Mass | None:
        said = f"{section.title}: {reading.text}" if section.organ else reading.text  # "Left kidney: ..." as written
        named: list[tuple[_Mass, Thing]] = []
        for thing in reading.things:
            if thing.cls != MASS:
                continue
            # in an addendum a definite mass is the body's, even with a place ("The calcified mass
            # described above is in the RIGHT kidney" corrects its side)
            refers = thing.reference or (thing.definite and (revises or (not thing.location and not thing.side)))
            if thing.located_in_clause and refers:
                if thing.calcium and named:  # "mass with calcification of the lesion rim": the same mass
                    named.append((named[-1][0], thing))
                continue  # "separate from the mass", "adjacent to the mass": a landmark, not what is described
            referent = last if last is not None else (fallback if not revises else None)
            if thing.reference and _FORMER.fullmatch(thing.text.strip()):
                each = [m for m, t in named if t.distributive]  # "one in X and one in Y ...; the latter"
                referent = self._former_or_latter(thing, each or [m for m, _ in named] or self.previous) or referent
            if refers and referent is not None:
                if thing.assertion not in COUNTED:
                    referent.assertion = thing.assertion
                referent.size_cm = referent.size_cm or thing.size_cm
                named.append((referent, thing))
                last = referent
            elif refers and fallback is not None:
                last = self._new(thing, section, said, found, target=fallback)
                named.append((last, thing))
            elif not thing.reference:
                new = self._new(thing, section, said, found)
                named.append((new, thing))
                # what follows refers back to a mass that stands, not to "no solid component"
                if new.assertion in COUNTED or last is None or last.assertion not in COUNTED:
                    last = new
        for mass, thing in named:
            mass.calcium += [(c, said) for c in thing.calcium]
        if named:
            self.previous = [m for m, _ in named]
        self.carry_side(reading.sides)
        if reading.loose and not (section.organ and not named and last is None and not revises):
            # loose calcium under a heading that names another structure ("Aorta:") is that structure's
            if last is None and revises and fallback is not None:
                last = self._new(Thing("reference", MASS, 0, 0, "", 0), section, said, found, fallback)
            if last is not None and last.assertion in COUNTED:
                last.calcium += [(c, said) for c in reading.loose]
        return last


def _settle(body: list[_Mass], revisions: list[_Mass], withdrawn: bool) -> None:
    """The addendum's word on the body's masses."""
    if withdrawn and not any(m.calcium for m in revisions):
        for mass in body:
            mass.revised = False
    for revision in revisions:
        side = (revision.target or revision).side
        # the body names one mass in its findings and again in its impression: revise every mention
        targets = [m for m in body if side is None or m.side in (side, None)]
        if revision.corrected_side is not None:  # "the mass described above is in the RIGHT kidney"
            for mass in targets:
                mass.side = revision.corrected_side
        if revision.assertion == "negated" and not revision.calcium:
            for mass in targets:
                mass.assertion = "negated"
        elif revision.calcium:
            # an addendum is read in order: its last sentence about the calcification is its word
            final = revision.calcium[-1][1]
            verdict = revision.assertion in COUNTED and any(
                c.assertion in COUNTED and not c.negative for c, said in revision.calcium if said == final
            )
            for mass in targets:
                mass.revised = verdict
            if revision.target is None and targets:
                revision.target = targets[0]  # it revised a body mass; not a mass of its own


def _gives_away(reading: SentenceReading) -> bool:
    """A revising sentence that gives calcium to a structure other than a mass."""
    return reading.revision and any(t.cls != MASS and t.calcium for t in reading.things)


def _statement(mass: _Mass) -> MassStatement:
    calcified = mass.calcified()
    counted = [c for c, _ in mass.calcium if c.assertion in COUNTED and not c.negative]
    calcium_sentence = next((s for c, s in mass.calcium if c.assertion in COUNTED and not c.negative), "")
    side = mass.side
    named = {c.side for c in counted if c.side}
    if calcified and side in (None, "bilateral") and len(named) == 1:
        side = named.pop()  # "bilateral renal masses, the left with calcification"
    denied = not calcified and any(c.assertion == "negated" or c.negative for c, _ in mass.calcium)
    return MassStatement(
        region=mass.region,
        side=side,
        calcium_denied=denied,
        size_cm=mass.size_cm,
        calcified=calcified,
        assertion=mass.assertion,
        phrase=quote(mass.sentence),
        calcium_phrase=quote(calcium_sentence) if calcium_sentence and calcium_sentence != mass.sentence else "",
    )
