"""What one report narrative says about a mass in the flank region, under the assertion policy.

Policy (hooks/knowledge/nlp.json): a statement counts unless ConText marks it with a category in
`notCounted` (negated, family, hypothetical, indication) or it sits in a section whose `counts`
is false (indication, history, comparison, technique). Uncertain statements count: CT is the test
that settles a "possible calcified mass".

Calcification belongs to a mass only in the same sentence, and not in a clause that names another
organ or another calcium ("... and calcifications in the spleen"); a calcification sentence that
directly follows the mass sentence with nothing else to attach to ("It contains echogenic foci with
shadowing.") belongs to that mass too. Results are remembered per narrative digest, bounded.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from .nlp import Analysis, Mention, Pipeline

CLAUSE = re.compile(r"[,;]|\band\b|\bwhile\b|\bas well as\b|\bwhereas\b", re.IGNORECASE)
ANCHORS = ("OTHER_ORGAN", "CALC_ELSEWHERE")


@dataclass(frozen=True)
class MassStatement:
    region: str  # flank | abdomen | unspecified | other
    side: str | None
    size_cm: float | None
    calcified: bool
    uncertain: bool
    phrase: str  # the sentence, one line, for the card


@dataclass(frozen=True)
class Reading:
    masses: tuple[MassStatement, ...] = ()
    no_mass: frozenset = frozenset()  # sides ('left', 'right', None = any) a counted statement says have no mass
    truncated: bool = False
    analysed: int = 0

    def region_masses(self, regions=("flank",)) -> list[MassStatement]:
        return [m for m in self.masses if m.region in regions]

    def calcified_masses(self, regions=("flank",)) -> list[MassStatement]:
        return [m for m in self.masses if m.region in regions and m.calcified]


EMPTY = Reading()


class Reader:
    """Applies the policy to the pipeline's output; one per Knowledge."""

    def __init__(self, spec: dict, pipeline: Pipeline, sides: dict[str, re.Pattern]):
        self.pipeline = pipeline
        self.not_counted = frozenset(spec["notCounted"])
        self.counting_sections = {s["category"]: s["counts"] for s in spec["sections"]}
        self.section_region = {s["category"]: s["region"] for s in spec["sections"] if s.get("region")}
        self.size = re.compile(spec["size"], re.IGNORECASE)
        self.sides = sides
        self.elsewhere = re.compile(
            "|".join(
                f"(?:{t['pattern']})" for t in spec["targets"] if t["category"] == "CALC_ELSEWHERE" and t.get("pattern")
            ),
            re.IGNORECASE,
        )
        self.cache = DigestCache(spec["cache"]["entries"], spec["cache"]["bytes"])

    def read(self, text: str | None) -> Reading:
        if not text or not text.strip():
            return EMPTY
        cut, _ = self.pipeline.cut(text)
        if not self.pipeline.relevant.search(cut):
            return EMPTY  # the cheap pre-filter: no mass or calcium word at all
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        reading = self._read(self.pipeline.analyse(text))
        self.cache.put(key, reading, 200 + sum(len(m.phrase) for m in reading.masses))
        return reading

    def counted(self, mention: Mention) -> bool:
        return not (mention.modifiers & self.not_counted) and self.counting_sections.get(mention.section, True)

    def _read(self, analysis: Analysis) -> Reading:
        by_sentence: dict[int, list[Mention]] = {}
        for mention in analysis.mentions:
            by_sentence.setdefault(mention.sentence, []).append(mention)
        masses, no_mass = [], set()
        previous: tuple[int, int] | None = None  # (sentence index, index in masses) of the last mass
        for index in sorted(by_sentence):
            mentions = by_sentence[index]
            sentence = analysis.sentences[index]
            body = analysis.text[sentence.start : sentence.end]
            region = self._region(mentions, sentence.section)
            found = [m for m in mentions if m.category == "MASS"]
            for mass in found:
                side = self._side(body, mass.start - sentence.start, sentence.title)
                if (
                    "NEGATED_EXISTENCE" in mass.modifiers
                    and self.counting_sections.get(mass.section, True)
                    and not (mass.modifiers & (self.not_counted - {"NEGATED_EXISTENCE"}))
                ):
                    if region != "other":
                        no_mass.add(side)
                    continue
                if not self.counted(mass):
                    continue
                masses.append(
                    MassStatement(
                        region,
                        side,
                        self._size(body, mass.start - sentence.start),
                        self._calcified(mass, mentions, body, sentence.start),
                        "POSSIBLE_EXISTENCE" in mass.modifiers,
                        " ".join(body.split())[:200],
                    )
                )
                previous = (index, len(masses) - 1)
            if not found and previous and previous[0] == index - 1 and self._loose_calcification(mentions):
                kept = masses[previous[1]]
                masses[previous[1]] = MassStatement(
                    kept.region,
                    kept.side,
                    kept.size_cm,
                    True,
                    kept.uncertain,
                    kept.phrase + " " + " ".join(body.split())[:100],
                )
        return Reading(tuple(masses), frozenset(no_mass), analysis.truncated, analysis.analysed)

    def _region(self, mentions: list[Mention], section: str | None) -> str:
        categories = {m.category for m in mentions}
        if "SITE" in categories:
            return "flank"
        if "OTHER_ORGAN" in categories:
            return "other"
        if "ABDOMEN" in categories:
            return "abdomen"
        return self.section_region.get(section, "unspecified")

    def _calcified(self, mass: Mention, mentions: list[Mention], body: str, offset: int) -> bool:
        for calc in mentions:
            if calc.category != "CALC" or not self.counted(calc):
                continue
            clause = _clause_of(body, calc.start - offset)
            inside = [m for m in mentions if clause[0] <= m.start - offset < clause[1]]
            if any(m.category == "MASS" for m in inside) or not any(m.category in ANCHORS for m in inside):
                return True
        return False

    def _loose_calcification(self, mentions: list[Mention]) -> bool:
        """A sentence with counted calcification and nothing else it could belong to."""
        return any(m.category == "CALC" and self.counted(m) for m in mentions) and not any(
            m.category in ANCHORS for m in mentions
        )

    def _side(self, body: str, at: int, title: str) -> str | None:
        best: tuple[int, str] | None = None
        for side, pattern in self.sides.items():
            for match in pattern.finditer(body):
                distance = abs(match.start() - at)
                if best is None or distance < best[0]:
                    best = (distance, side)
        if best is not None:
            return best[1]
        for side, pattern in self.sides.items():
            if title and pattern.search(title):
                return side
        return None

    def _size(self, body: str, at: int) -> float | None:
        best: tuple[int, float] | None = None
        for match in self.size.finditer(body):
            value = float(match.group(1)) / (10 if match.group(2).lower() == "mm" else 1)
            distance = abs(match.start() - at)
            if best is None or distance < best[0]:
                best = (distance, value)
        return best[1] if best else None


def _clause_of(body: str, at: int) -> tuple[int, int]:
    start, end = 0, len(body)
    for cut in CLAUSE.finditer(body):
        if cut.end() <= at:
            start = cut.end()
        elif cut.start() >= at:
            end = cut.start()
            break
    return start, end


class DigestCache:
    """A thread-safe LRU of readings keyed by narrative digest, bounded by count and by bytes."""

    def __init__(self, entries: int, max_bytes: int):
        self.entries, self.max_bytes = entries, max_bytes
        self._items: OrderedDict[bytes, tuple[Reading, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Reading | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: bytes, reading: Reading, size: int) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (reading, size)
            self._bytes += size
            while self._items and (len(self._items) > self.entries or self._bytes > self.max_bytes):
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes
