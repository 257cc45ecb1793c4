"""One report's text in, what it says about masses in the flank region out, bounded and remembered.

The flow: sections (sections.py, with templates.py) -> sentences (assertions.py) -> what each
sentence says about which structure, with ConText assertions (findings.py) -> which statements
are about the same mass, and what an addendum revises (attribution.py). Work is linear and
bounded: at most `maxNarrativeChars` characters are read, only sentences that name a mass or
calcium reach the costly steps, at most `maxSentences` of them per report, each cut to
`maxSentenceTokens` tokens. Readings are remembered per text digest in a cache bounded by count
and bytes (narratives repeat across the calls of an ordering session).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from .assertions import Assertor
from .attribution import COUNTED, Attributor, MassStatement
from .findings import SentenceReader, SentenceReading
from .lexicon import MASS, ORGAN, Lexicon
from .sections import Sectioner

log = logging.getLogger("cds_service.reading")
PLACES = ("flank", "abdomen", "unspecified")  # where a report's mass may be the flank mass (with a coded mass)


@dataclass(frozen=True)
class Reading:
    masses: tuple[MassStatement, ...] = ()  # counted statements (present or uncertain) about masses
    no_mass: frozenset = frozenset()  # sides ('left', 'right', None = any) the report says hold no mass now
    truncated: bool = False
    analysed: int = 0

    def region_masses(self, regions=("flank",)) -> list[MassStatement]:
        return [m for m in self.masses if m.region in regions]

    def calcified_masses(self, regions=("flank",)) -> list[MassStatement]:
        return [m for m in self.masses if m.region in regions and m.calcified]


EMPTY = Reading()


@dataclass(frozen=True)
class Verdict:
    """What a report of the flank region says, in three words (the reader's test contract)."""

    mass: bool  # a counted, current mass that is not of another organ and not superficial
    calcified_mass: bool  # ... with calcification that belongs to it
    side: str | None  # where the report places the calcified mass (else the mass)


def merge_sides(sides) -> str | None:
    found = {s for s in sides if s}
    if "bilateral" in found or {"left", "right"} <= found:
        return "bilateral"
    return next(iter(found), None)


class Reader:
    """Applies the reading to narrative text; one per Knowledge, safe from any thread."""

    def __init__(self, spec: dict, lexicon_doc: dict):
        self.lexicon = Lexicon.build(lexicon_doc)
        self.assertor = Assertor(spec)
        self.sectioner = Sectioner(spec["sections"], self.lexicon)
        self.sentences = SentenceReader(self.lexicon, self.assertor, spec)
        self.attributor = Attributor({s.kind: s.region for s in self.lexicon.structures if s.cls == ORGAN})
        self.max_chars = spec["maxNarrativeChars"]
        self.max_sentences = spec["maxSentences"]
        self.cache = DigestCache(spec["cache"]["entries"], spec["cache"]["bytes"])
        self.fetal_study = re.compile("|".join(f"(?:{p})" for p in spec["sections"]["fetalStudy"]), re.IGNORECASE)
        links = self.lexicon.links
        # "This is consistent with a simple cyst.": names no mass, yet says what the last one is
        self.identifies_before = re.compile(
            rf"^\s*(?:{links['pronoun'].pattern})\s+(?:(?:is|are|was|were)\s+)?(?:{links['identifies'].pattern})",
            re.IGNORECASE,
        )

    def cut(self, text: str) -> tuple[str, bool]:
        if len(text) <= self.max_chars:
            return text, False
        log.info("narrative cut to %d of %d characters for analysis; the rest is ignored", self.max_chars, len(text))
        return text[: self.max_chars], True

    def relevant(self, text: str) -> bool:
        """Names a mass or calcium at all: the cheap test before anything costly."""
        return bool(text) and self.lexicon.relevant.search(text) is not None

    def read(self, text: str | None) -> Reading:
        if not text or not text.strip():
            return EMPTY
        cut, truncated = self.cut(text)
        if not self.relevant(cut):
            return EMPTY
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        reading = self._read(cut, truncated)
        self.cache.put(key, reading, 200 + sum(len(m.phrase) + len(m.calcium_phrase) for m in reading.masses))
        return reading

    def _read(self, text: str, truncated: bool) -> Reading:
        sections, analysed = [], 0
        parts = self.sectioner.split(text)
        if any(s.category == "technique" and self.fetal_study.search(" ".join(s.units + (s.title,))) for s in parts):
            return EMPTY  # "sonography of the gravid uterus": the study is of the fetus, not the patient
        for section in parts:
            if not section.counts:
                continue
            readings = []
            for unit in section.units:
                if not self.relevant(unit):
                    continue
                for sentence in self.assertor.sentences(unit):
                    if not self.relevant(sentence) and not self.identifies_before.match(sentence):
                        # still a place: "The left kidney measures 12.9 cm." sets the side of what follows
                        readings.append(SentenceReading(sentence, [], [], False, self.lexicon.sides_in(sentence)))
                        continue
                    if analysed >= self.max_sentences:
                        log.info("narrative has more than %d relevant sentences; the rest is ignored", analysed)
                        truncated = True
                        break
                    analysed += 1
                    readings.append(self.sentences.read(sentence))
            sections.append((section, readings))
        statements = self.attributor.statements(sections)
        no_mass = frozenset(
            m.side for m in statements if m.assertion in ("negated", "historical") and m.region in PLACES
        )
        counted = tuple(m for m in statements if m.assertion in COUNTED)
        return Reading(counted, no_mass, truncated, analysed)

    def warm(self, text: str) -> Reading:
        """Read `text` without remembering it: builds the pipeline before a worker's first call."""
        return self._read(text, False)

    def verdict(self, text: str) -> Verdict:
        reading = self.read(text)
        masses = reading.region_masses(PLACES)
        calcified = [m for m in masses if m.calcified]
        return Verdict(bool(masses), bool(calcified), merge_sides(m.side for m in (calcified or masses)))

    def calcium_of_a_mass(self, text: str) -> bool:
        """A short label linked to the mass's ultrasound (an Observation's words, a study
        description) states calcification that is not another structure's: calcium of a mass, of
        a place in the flank region, or calcium it ties to nothing else."""
        text = text[: self.assertor.max_label_chars]
        if not self.relevant(text):
            return False
        for sentence in self.assertor.sentences(text):
            reading = self.sentences.read(sentence)
            owned = [
                c
                for t in reading.things
                if t.cls == MASS or (t.cls == ORGAN and self.lexicon.by_kind[t.kind].region in PLACES)
                for c in t.calcium
            ] + reading.loose
            if any(c.assertion in COUNTED and not c.negative for c in owned):
                return True
        return False


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
