"""What one sentence says about which structure.

A sentence names structures (the mass, a kidney, the aorta, a stone, a cyst, a rib) and says
things about them (calcified, its size, its side, how deep it lies). Each structure's noun is the
head of a noun phrase; the adjectives before it ("calcified left renal") are its modifiers, and a
place that follows it in its clause ("in the lower pole of the left kidney") is where it sits.

Calcium is an attribute, and it belongs to exactly one structure, decided in this order:
1. what the sentence says the calcium *is* ("echogenic focus with shadowing, consistent with a
   stone") — the identity wins;
2. the noun a calcium adjective qualifies ("calcified lymph nodes", "calcified mass");
3. a structure adjective naming the calcium's owner ("aortic calcification", "nodal calcs");
4. the structure before it that a linking word ties it to ("mass with / containing / showing
   calcification", "the mass is calcified");
5. the structure a place phrase after it names ("calcification within the lesion", "calcifications
   in the spleen");
6. the nearest structure before it in its clause (places that locate a mass are not candidates).
Calcium with no owner in its sentence is loose; the document decides (attribution.py) whether it
refers back to the mass. Only calcium owned by a mass can make the mass calcified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .assertions import Assertor
from .lexicon import MASS, ORGAN, VARIANT, Lexicon, Mention

COUNTED = ("present", "uncertain")  # the assertions that count as a finding (nlp.json "counted")
WINDOW = 60  # characters a linking phrase may span between calcium and its structure
# "... is reverberation artifact": a bare copula between the calcium and another structure says what it is
_IS = re.compile(
    r"\s*(?:is|are|was|were)(?:\s+(?:actually|in\s+fact|likely|probably|now|instead|felt\s+to\s+be|thought\s+to\s+be))*"
    r"(?:\s+(?:an?|the))?\s*",
    re.IGNORECASE,
)
_WITH_NEXT = re.compile(r"\s*(?:with|w/|containing|showing|demonstrating)(?:\s+[a-z-]+){0,3}\s*$", re.IGNORECASE)
_SEPARATE = re.compile(r"\b(?:separate|distinct|apart|unrelated|remote)\b", re.IGNORECASE)
# "..., which contains", "..., which, like the head and body, contains": a parenthetical may sit
# between the relative pronoun and its verb
_RELATIVE = re.compile(
    r"\s*,?\s*(?:which|that|who)(?:\s*,[^,.;]{1,40},)?\s+(?:also\s+)?"
    r"(?:is|are|was|were|appears?|shows?|contains?|has|have|demonstrates?)\b",
    re.IGNORECASE,
)
_DISTRIBUTIVE = re.compile(r"(?:,|\band)\s+(one)\s+(?=(?:in|at|within|of|from|arising|involving)\b)", re.IGNORECASE)
_FORMER_LATTER = re.compile(r"(?:[;,:]|\s[-—–])\s*(the\s+(?:former|latter))\b", re.IGNORECASE)
_OF_OWNER = re.compile(r"\s+of\s+(?:the|an?|this|that)\s+", re.IGNORECASE)
# up to three modifiers between "of the" and the structure ("of the adjacent right renal artery")
_OF_MODIFIERS = re.compile(
    r"(?:(?!(?:in|within|with|without|and|or|but|no|not|is|are|was|were)\b)[a-z0-9.\-/]+\s+){0,3}", re.IGNORECASE
)
_OF = re.compile(r"\s+of(?:\s+the)?(?:\s+(?:left|right|lt|rt|l|r))?\s+", re.IGNORECASE)  # "pole of the left"
_FILLER = re.compile(r"^[\s,\-]*(?:[a-z0-9][a-z0-9.\-/]*[\s,\-]+){0,5}$")
# words that end a noun phrase: prepositions, verbs, determiners, negations
_NOT_FILLER = re.compile(
    r"\b(?:in|within|of|with|w/|without|at|from|to|by|near|adjacent|along|is|are|was|were|has|have|contains?|shows?|"
    r"no|not|the|a|an|this|these|that|which|and|or|but|seen|noted|measuring|measures)\b"
)


@dataclass
class Calcium:
    start: int
    end: int
    text: str
    form: str  # nominal | adjectival | sonographic | absent
    negative: bool  # explicitly not calcium ("non-calcified", "non-shadowing")
    side: str | None = None  # a side named between its structure and it ("bilateral masses, the left w/ calc")
    assertion: str = "present"
    owner: int | None = None  # index of the owning Thing in the sentence; None = loose


@dataclass
class Thing:
    """One structure a sentence names, with what the sentence says about it."""

    kind: str
    cls: str
    start: int
    end: int
    text: str
    np_start: int
    assertion: str = "present"
    location: str | None = None  # the structure kind of the place it sits (organ)
    region: str | None = None
    side: str | None = None
    size_cm: float | None = None
    depth: str | None = None
    reference: bool = False  # "it", "this": refers back to an earlier mass
    definite: bool = False  # "the lesion", "this mass": may be the mass named before
    located_in_clause: bool = False  # a place or landmark of an earlier structure of its clause
    contained: bool = False  # ... that contains it ("mass in the left kidney"): part of that structure's phrase
    identified: bool = False  # a lesion the sentence says is another structure (_identify)
    distributive: bool = False  # "two lesions, one in the left kidney and one in the right adrenal"
    calcium: list[Calcium] = field(default_factory=list)


@dataclass
class SentenceReading:
    text: str
    things: list[Thing]
    loose: list[Calcium]  # calcium the sentence ties to no structure
    revision: bool  # the sentence revises an earlier statement ("on review", "rather than")
    sides: set[str] = field(default_factory=set)  # the sides it names


class SentenceReader:
    def __init__(self, lexicon: Lexicon, assertor: Assertor, spec: dict):
        self.lexicon = lexicon
        self.assertor = assertor
        self.breaks = re.compile("|".join(f"(?:{p})" for p in spec["attributionBreaks"]), re.IGNORECASE)
        self.revision = re.compile("|".join(f"(?:{p})" for p in spec["revisionCues"]), re.IGNORECASE)
        self.no_type = re.compile(rf"^(?:{'|'.join(spec['calciumWithoutOwner'])})$", re.IGNORECASE)
        self.pronoun = lexicon.links["pronoun"]
        self.mass_kinds = {s.kind for s in lexicon.structures if s.cls == MASS}
        self.identity_field = re.compile(
            rf"(?:{'|'.join(spec['sections']['identityFields'])})\s*:\s*(?:[a-z-]+\s+){{0,2}}$", re.I
        )
        tail = r"(?:\s+[\w/-]+){0,4}\s*$"  # the words between the place word and the noun: "of the descending"
        self.contained = re.compile(rf"(?:{lexicon.links['locative'].pattern}){tail}", re.IGNORECASE)
        # a landmark's noun phrase may be longer: "abuts the anterior surface of the left kidney"
        self.landmark = re.compile(rf"(?:{lexicon.links['landmark'].pattern})(?:\s+[\w/-]+){{0,6}}\s*$", re.I)
        self.definite_word = re.compile(rf"(?:{lexicon.links['definite'].pattern})\s*", re.IGNORECASE)
        self.said_to_be = re.compile(rf"(?:{lexicon.links['identity'].pattern})\s*(?:(?:a|an|the)\s+)?", re.I)
        # the words between a lesion and what it is said to be: "represents a", ", which is in fact the",
        # "seen at the urgent care visit is in keeping with"
        self.identifies = re.compile(
            r"\s*,?\s*(?:(?:seen|noted|described|questioned|reported|identified)\b(?:(?!\b(?:may|might|could|can|"
            r"likely|possibly|probably|perhaps|presumably|not|no)\b)[^,;:.]){0,40}?\s+)?"
            r"(?:(?:which|that)\s+)?(?:(?:is|are|was|were)\s+)?(?:(?:actually|in\s+fact|now|instead)\s+)?"
            rf"(?:{lexicon.links['identifies'].pattern})\s*(?:(?:a|an|the)\s+)?"
            r"(?:(?:[a-z-]+\s+){0,2}(?:tip|pole|edge|margin|portion|part|end|lobe)\s+of\s+(?:(?:a|an|the)\s+)?)?",
            re.IGNORECASE,
        )

    def _clauses(self, text: str) -> list[int]:
        """Start offsets of the sentence's clauses (0 first), for attribution: the hard breaks only
        (a comma before a measurement does not part an aneurysm from "with a calcified wall")."""
        return [0] + [m.start() for m in self.breaks.finditer(text) if m.start() > 0]

    @staticmethod
    def _clause_of(starts: list[int], at: int) -> int:
        index = 0
        for i, start in enumerate(starts):
            if start <= at:
                index = i
        return index

    def read(self, text: str) -> SentenceReading:
        mentions = self.lexicon.mentions(text)
        things, modifiers = self._things(text, mentions)
        self._identify(text, things)
        calcium = [Calcium(m.start, m.end, m.text, m.kind, m.negative) for m in mentions if m.layer == "calcium"]
        spans = [(t.start, t.end) for t in things] + [(c.start, c.end) for c in calcium]
        found = self.assertor.categories(text, spans)
        for thing, cats in zip(things, found, strict=False):
            thing.assertion = self.assertor.assertion(cats)
            if thing.identified and (thing.cls == VARIANT or thing.reference) and thing.assertion in COUNTED:
                # "the questioned lesion represents a column of Bertin", "This is consistent with a
                # simple cyst": there is no mass there
                if not thing.reference:
                    thing.cls, thing.kind = MASS, "mass"
                thing.assertion = "negated"
        for calc, cats in zip(calcium, found[len(things) :], strict=True):
            calc.assertion = self.assertor.assertion(cats)
        clauses = self._clauses(text)
        self._place(text, things, modifiers, mentions, clauses)
        loose = []
        sides = [m for m in mentions if m.layer == "side"]
        for calc in calcium:
            calc.owner = self._owner(text, calc, things, modifiers, clauses)
            # a side named after its structure and before it: "bilateral masses, the left with calcification"
            since = things[calc.owner].end if calc.owner is not None else clauses[self._clause_of(clauses, calc.start)]
            between = [m for m in sides if since <= m.start < calc.start]
            calc.side = between[-1].kind if between else None
            if calc.owner is None:
                loose.append(calc)
                continue
            owner = things[calc.owner]
            owner.calcium.append(calc)
            if (
                owner.start > calc.end
                and owner.assertion == calc.assertion == "negated"
                and self.lexicon.links["locative"].search(text[calc.end : owner.np_start])
            ):
                owner.assertion = "present"  # "no calcification within the mass": the negation is the calcium's
        return SentenceReading(text, things, loose, bool(self.revision.search(text)), {m.kind for m in sides})

    def _identify(self, text: str, things: list[Thing]) -> None:
        """A lesion the sentence says is another structure is that structure, not a mass: in a
        field record, by its type field ("Lesion: 2, ..., Composition: Cyst (Bosniak II)"); in prose,
        by a firm identity ("the questioned lesion represents a column of Bertin", "the lump is the
        costal cartilage tip"), also from the next sentence ("This is consistent with a Bosniak II
        cyst": the mass "This" refers to is no mass). A hedged one ("likely represents") leaves the
        mass standing."""
        for i, thing in enumerate(things):
            if thing.cls == MASS:
                continue
            if self.identity_field.search(text[: thing.np_start]):
                lesion = next((t for t in reversed(things[:i]) if t.kind == "mass"), None)
            else:
                lesion = things[i - 1] if i and self._is_said_to_be(text[things[i - 1].end : thing.np_start]) else None
            if lesion is not None and lesion.reference and thing.cls not in (ORGAN, "node"):
                # (a nodal mass may itself be the flank mass: "It is a conglomerate of calcified nodes")
                lesion.identified = True  # stays a reference: what it refers to is not a mass
            elif lesion is not None and lesion.kind == "mass":
                lesion.cls, lesion.kind, lesion.identified = thing.cls, thing.kind, True

    def _definite(self, before: str) -> bool:
        """A definite article or pointer before the noun phrase, modifiers between ("The calcified
        mass", "the 4 cm calcified mass")."""
        found = _last(self.definite_word, before)
        return found is not None and (found.end() == len(before) or _filler(before[found.end() :]))

    def _ends_saying_it_is(self, gap: str) -> bool:
        """The words before a structure end by saying what the calcium is: "..., in keeping with",
        "... represents a 6 mm non-obstructing" (modifiers of the structure may follow the link)."""
        said = _last(self.said_to_be, gap)
        return said is not None and (said.end() == len(gap) or _filler(gap[said.end() :]))

    def _is_said_to_be(self, gap: str) -> bool:
        """The words between a lesion and another structure say the lesion is it (modifiers of
        that structure may follow: "is consistent with a calcified simple cyst")."""
        said = self.identifies.match(gap)
        return said is not None and (said.end() == len(gap) or _filler(gap[said.end() :]))

    # -- structures and their noun phrases ----------------------------------------------------
    def _things(self, text: str, mentions: list[Mention]) -> tuple[list[Thing], list[Mention]]:
        things: list[Thing] = []
        loose_adjectives: list[Mention] = []
        pending: list[Mention] = []
        heads = [m for m in mentions if m.layer == "structure"]
        for n, m in enumerate(heads):
            structure = self.lexicon.by_kind[m.kind]
            following = heads[n + 1] if n + 1 < len(heads) else None
            gap = text[m.end : following.start] if following is not None else ""
            adjunct = (
                following is not None
                and (
                    (  # "lower pole mass"; but "mass lower pole" is a mass and its place, telegraphed
                        following.head
                        and not gap.strip(" -")
                        and not (structure.cls == MASS and self.lexicon.by_kind[following.kind].cls == ORGAN)
                    )
                    or (  # "upper pole renal mass": the place qualifies the mass it leads into
                        structure.cls == ORGAN
                        and self.lexicon.by_kind[following.kind].cls in (MASS, ORGAN)
                        and _filler(gap)
                        and next((h for h in heads[n + 1 :] if h.head), following).kind in self.mass_kinds
                        and _filler(text[m.end : next((h for h in heads[n + 1 :] if h.head), following).start])
                    )
                )
            )
            if not m.head or adjunct:  # "lower pole mass": the first noun qualifies the second
                pending.append(m)
                continue
            np_start = m.start
            for adj in reversed(pending):
                if _filler(text[adj.end : np_start]):
                    np_start = adj.start
                else:
                    break
            modifiers = [a for a in pending if a.start >= np_start]
            loose_adjectives += [a for a in pending if a.start < np_start]
            pending = []
            thing = Thing(m.kind, structure.cls, m.start, m.end, m.text, np_start, region=structure.region)
            owners = [a for a in modifiers if self.lexicon.by_kind[a.kind].cls == ORGAN and a.kind != m.kind]
            if structure.cls == ORGAN and owners:
                # a part named by its organ's adjective is that organ's: "the splenic lower pole"
                thing.kind, thing.region = owners[-1].kind, self.lexicon.by_kind[owners[-1].kind].region
            if structure.cls == MASS:
                places = [a for a in modifiers if self.lexicon.by_kind[a.kind].cls == ORGAN]
                if structure.organ:
                    thing.location = structure.organ
                elif places:
                    thing.location = places[-1].kind
                if thing.location:
                    thing.region = self.lexicon.by_kind[thing.location].region
            thing.definite = self._definite(text[max(0, np_start - 40) : np_start])
            things.append(thing)
        loose_adjectives += pending
        lead = len(text) - len(text.lstrip())
        pronoun = self.pronoun.match(text, lead)
        if pronoun and not (
            things and _filler(text[pronoun.end() : things[0].np_start]) and things[0].np_start - pronoun.end() < 25
        ):
            things.insert(0, Thing("reference", MASS, lead, pronoun.end(), pronoun.group(0), lead, reference=True))
        if any(t.cls == MASS and t.text.lower().endswith("s") for t in things):
            for each in _DISTRIBUTIVE.finditer(text):  # "two lesions, one in the left kidney and one in ..."
                at = each.start(1)
                things.append(Thing("mass", MASS, at, each.end(1), each.group(1), at, distributive=True))
            things.sort(key=lambda t: t.start)
        for later in _FORMER_LATTER.finditer(text):  # "...; the former shows calcification"
            at = later.start(1)
            things.append(Thing("reference", MASS, at, later.end(1), later.group(1), at, reference=True))
            things.sort(key=lambda t: t.start)
        return things, loose_adjectives

    def _place(self, text, things, modifiers, mentions, clauses) -> None:
        """Where each mass sits, its side, size and depth, from its phrase and its clause. A
        structure that a place word introduces after another one ("mass in the left kidney", "mass
        anterior to the aorta") is a landmark of its clause: it places the first, it is not what the
        clause describes."""
        relational: set[int] = set()  # landmarks that only neighbour a structure ("abutting the liver")
        for i, thing in enumerate(things):
            clause = self._clause_of(clauses, thing.start)
            earlier = [t for t in things[:i] if self._clause_of(clauses, t.start) == clause and not t.located_in_clause]
            if not earlier:
                continue
            gap = text[earlier[-1].end : thing.np_start]
            if i - 1 in relational and self.contained.search(text[things[i - 1].end : thing.np_start]):
                # "indents the upper pole of the right kidney": the kidney is part of the landmark
                thing.located_in_clause = True
                relational.add(i)
                continue
            if self.landmark.search(gap):
                thing.located_in_clause = True
                relational.add(i)
                continue
            if not (self.contained.search(gap) or (thing.cls == ORGAN and earlier[-1].cls != ORGAN)):
                continue
            thing.located_in_clause = True
            thing.contained = True
            owner = earlier[-1]
            if thing.cls != ORGAN or owner.cls != MASS or thing.reference:
                continue
            part = things[i - 1]
            if owner.location is None or (
                part.cls == ORGAN and part.contained and _OF.fullmatch(text[part.end : thing.np_start])
            ):
                # the organ a part is "of" names where it is: "the lower pole of the spleen" is the spleen
                owner.location = thing.kind
                owner.region = self.lexicon.by_kind[thing.kind].region
        for thing in things:
            if thing.cls == MASS and thing.location is None and not thing.reference:
                clause = self._clause_of(clauses, thing.start)
                organs = [
                    t
                    for i, t in enumerate(things)
                    if t.cls == ORGAN and i not in relational and self._clause_of(clauses, t.start) == clause
                ]
                if organs:
                    place = min(organs, key=lambda t: abs(t.start - thing.start))
                    thing.location, thing.region = place.kind, self.lexicon.by_kind[place.kind].region
        sides = [m for m in mentions if m.layer == "side"]
        sizes = [m for m in mentions if m.layer == "size"]
        depths = [m for m in mentions if m.layer == "depth"]
        for thing in things:
            clause = self._clause_of(clauses, thing.start)
            in_clause = [m for m in sides if self._clause_of(clauses, m.start) == clause]
            in_phrase = [
                m
                for m in in_clause
                if thing.np_start <= m.start < thing.end
                or (m.end <= thing.np_start and _filler(text[m.end : thing.np_start]))
            ]
            thing.side = (in_phrase or sorted(in_clause, key=lambda m: abs(m.start - thing.start)) or [None])[0]
            thing.side = thing.side.kind if thing.side else None
            near = sorted(
                (m for m in sizes if self._clause_of(clauses, m.start) == clause),
                key=lambda m: abs(m.start - thing.start),
            )
            thing.size_cm = near[0].value if near else None
            deep = sorted(
                (m for m in depths if self._clause_of(clauses, m.start) == clause),
                key=lambda m: abs(m.start - thing.start),
            )
            if thing.region == "superficial" or (deep and deep[0].kind == "superficial"):
                thing.depth = "superficial"
            elif deep:
                thing.depth = "deep"

    # -- whose calcium ------------------------------------------------------------------------
    def _owner(self, text: str, calc: Calcium, things: list[Thing], adjectives, clauses) -> int | None:
        # 0. a structure named inside the calcium's own words ("milk of calcium cyst", "foci within the mass")
        inside = [
            i for i, t in enumerate(things) if calc.start <= t.start < calc.end or t.np_start <= calc.start < t.end
        ]
        if inside:
            return inside[0]
        # 0b. the structure the calcium is "of" ("calcification of the adjacent renal artery wall")
        of = _OF_OWNER.match(text, calc.end)
        if of is not None:
            owned = next((i for i, t in enumerate(things) if t.np_start >= of.end()), None)
            if owned is not None and _OF_MODIFIERS.fullmatch(text[of.end() : things[owned].np_start]):
                return owned
        clause = self._clause_of(clauses, calc.start)
        same = [i for i, t in enumerate(things) if self._clause_of(clauses, t.start) == clause]
        after = [i for i in same if things[i].start >= calc.end and things[i].start - calc.end <= WINDOW]
        before = [i for i in same if things[i].end <= calc.start]
        links = self.lexicon.links
        # 1. what the calcium is said to be ("consistent with a stone", "is reverberation artifact")
        for i in after:
            gap = text[calc.end : max(calc.end, things[i].np_start)]
            if links["identity"].search(gap) or (things[i].cls != MASS and _IS.fullmatch(gap)):
                return i
            if things[i].cls != ORGAN:
                break  # places between ("focus in the renal sinus, c/w a stone") do not stop the reading
        # ... however far, when the calcium leads its clause and the clause ends by naming what it is
        # ("Several shadowing foci lie deep in the left hemipelvis ..., in keeping with phleboliths")
        if not any(things[i].cls == MASS for i in before):
            for i in same:
                named = things[i]
                if named.start >= calc.end and named.cls not in (MASS, ORGAN):
                    if self._ends_saying_it_is(text[calc.end : named.np_start]):
                        return i
        # 2. the noun a calcium adjective qualifies
        if calc.form == "adjectival" and after:
            gap = text[
                calc.end : things[after[0]].np_start if things[after[0]].np_start > calc.end else things[after[0]].start
            ]
            if _filler(gap) and not _NOT_FILLER.search(gap):
                return after[0]
        # 3. a structure adjective naming the owner ("aortic calcification")
        lead = [a for a in adjectives if a.end <= calc.start and _filler(text[a.end : calc.start])]
        if lead and calc.start - lead[-1].end <= 20 and not self.no_type.match(text[lead[-1].start : lead[-1].end]):
            kind = lead[-1].kind
            match = next((i for i in reversed(before) if things[i].kind == kind), None)
            if match is not None:
                return match
            things.append(
                Thing(
                    kind,
                    self.lexicon.by_kind[kind].cls,
                    lead[-1].start,
                    lead[-1].end,
                    lead[-1].text,
                    lead[-1].start,
                    located_in_clause=True,
                )
            )
            return len(things) - 1
        # 4. a relative clause describes the noun right before it, landmark or not ("the costal cartilage,
        # which is calcified"); otherwise the structure before it that a linking word ties it to
        nouns = [i for i in before if not things[i].contained]  # "mass in the left kidney, which ...": the mass
        if nouns and _RELATIVE.match(text[things[nouns[-1]].end : calc.start]):
            return nouns[-1]
        # "... adjacent to a separate cyst with rim calcification": "with" ties it to the noun right before
        if nouns and _WITH_NEXT.match(text[things[nouns[-1]].end : calc.start]):
            return nouns[-1]
        candidates = [i for i in before if not things[i].located_in_clause]
        if candidates and _SEPARATE.search(text[things[candidates[-1]].end : calc.start]):
            candidates = []  # "a mass with a separate echogenic focus": the calcium is not the mass's
        if candidates:
            gap = text[things[candidates[-1]].end : calc.start]
            if links["with"].search(gap) or links["copula"].search(gap) or not gap.strip(" ,-"):
                return candidates[-1]
        # 5. the structure a place phrase after it names ("is in the wall of the separate cyst")
        if after:
            gap = text[calc.end : max(calc.end, things[after[0]].np_start)]
            if links["locative"].search(gap) and len(gap.split()) <= 8:
                return after[0]
        # 6. the nearest structure before it in its clause
        if candidates:
            return candidates[-1]
        return None


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _filler(gap: str) -> bool:
    """Only modifiers (adjectives, sides, measurements, commas) between two words of one noun phrase."""
    gap = gap.lower()
    return len(gap) <= 40 and bool(_FILLER.match(gap)) and not _NOT_FILLER.search(gap)
