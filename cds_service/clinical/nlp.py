"""The medspaCy pipeline that reads report narratives: sentences, targets, ConText, sections.

Built from hooks/knowledge/nlp.json once per process, on first use (importing spaCy and building
the matchers costs about a second, which a worker that never sees a narrative should not pay),
behind a lock so two threads never build it twice. spaCy's rule-based components need no model
download. Work per call is linear in the text: the text is cut to `maxNarrativeChars` first,
lines that name no mass or calcium are dropped (their titles kept), sentences are cut to
`maxSentenceTokens`, and the target matcher and ConText run on each telling sentence as its own
small doc, at most `maxSentences` of them: ConText pairs every target with every modifier of a
doc, so one doc per bounded sentence keeps that a constant per sentence, whatever the input.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from dataclasses import dataclass

# Every rule here is a regular expression, so medspaCy's token-pattern matcher stays empty by design;
# spaCy warns about that (W036) on each call, which would only be noise in the log.
warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)

log = logging.getLogger("cds_service.nlp")
# spaCy keeps every string it has seen in its vocabulary for the life of the pipeline; new words
# (measurements, names, typos) would grow a worker's memory without end, so the pipeline is built
# afresh once its vocabulary passes this many entries (a rebuild costs a fraction of a second).
MAX_VOCABULARY = 200_000


@dataclass(frozen=True)
class Mention:
    """One target found in a narrative, with its ConText categories and section."""

    category: str
    text: str
    start: int  # character offsets in the analysed text
    end: int
    sentence: int  # index of its sentence
    modifiers: frozenset[str]
    section: str | None  # section category from nlp.json, None before any title


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    section: str | None
    title: str = ""  # the section's title words ("Left kidney"), for the side


@dataclass(frozen=True)
class Analysis:
    text: str
    mentions: tuple[Mention, ...]
    sentences: tuple[Sentence, ...]
    truncated: bool = False
    analysed: int = 0  # sentences given to the target matcher and ConText (the costly part)


def _sentence_breaks(max_tokens: int):
    """A spaCy component run after the sentencizer: reports also end sentences at blank lines, list
    bullets and section titles ('Liver: ...' lines carry no full stop), and no sentence runs past
    `max_tokens` tokens (which keeps ConText linear). Needs doc._.sections (the sectionizer first)."""

    def component(doc):
        titles = {s.title_start for s in doc._.sections if s.title_start is not None}
        starts = doc.to_array(["SENT_START"]).tolist()  # one read instead of a property per token
        texts = [t.text_with_ws for t in doc]
        run = 0
        for i in range(1, len(texts)):
            if starts[i] != 1 and (i in titles or (("\n" in texts[i - 1]) and _line_break(doc, texts, i))):
                doc[i].is_sent_start = True
                starts[i] = 1
            if starts[i] == 1:
                run = 0
            elif run >= max_tokens:
                doc[i].is_sent_start = True
                run = 0
            run += 1
        return doc

    return component


def _line_break(doc, texts: list[str], i: int) -> bool:
    """After a newline: a blank line, a list bullet or a numbered item starts a new sentence."""
    if texts[i - 1].count("\n") >= 2 or (i > 1 and "\n" in texts[i - 2] and not texts[i - 1].strip()):
        return True
    if texts[i].strip() in BULLETS:
        return True
    return doc[i].like_num and i + 1 < len(texts) and texts[i + 1].strip() in (".", ")")


BULLETS = {"-", "*", "•", "·", "–", "—", "+"}


class Pipeline:
    """The lazily built medspaCy pipeline; `analyse` is safe to call from any thread."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.max_chars = spec["maxNarrativeChars"]
        self.max_sentences = spec["maxSentences"]
        self.max_label_chars = spec["maxLabelChars"]
        self._nlp = None
        self._lock = threading.Lock()
        # Calls are serialised: the matchers are not documented as thread-safe, and under the GIL
        # a CPU-bound pass gains nothing from running two at once.
        self._run_lock = threading.Lock()
        self.not_counted = frozenset(spec["notCounted"])
        self.counts = {s["category"]: s["counts"] for s in spec["sections"]}
        self.cue = re.compile(
            "|".join(
                f"(?:{m.get('pattern') or re.escape(m['literal'])})"
                for m in spec["modifiers"]
                if m["category"] in self.not_counted
            ),
            re.IGNORECASE,
        )
        self.relevant = re.compile(
            "|".join(f"(?:{t['pattern']})" for t in spec["targets"] if t["category"] in RELEVANT), re.IGNORECASE
        )

    def _build(self):
        import spacy
        from medspacy.context import ConText  # noqa: F401 (registers the factories)
        from medspacy.ner import TargetMatcher, TargetRule  # noqa: F401
        from medspacy.section_detection import Sectionizer, SectionRule  # noqa: F401

        nlp = spacy.blank("en")
        sectionizer = nlp.add_pipe("medspacy_sectionizer", config={"rules": None, "span_attrs": None})
        sectionizer.add(
            [
                SectionRule(f"{title}:", s["category"], pattern=_title_pattern(title))
                for s in self.spec["sections"]
                for title in s["titles"]
            ]
        )
        nlp.add_pipe("sentencizer")
        name = f"cds_sentence_breaks_{self.spec['maxSentenceTokens']}"
        if name not in spacy.registry.factories.get_all():
            spacy.Language.component(name, func=_sentence_breaks(self.spec["maxSentenceTokens"]))
        nlp.add_pipe(name)
        matcher = nlp.add_pipe("medspacy_target_matcher")
        matcher.add([TargetRule(t["literal"], t["category"], pattern=t.get("pattern")) for t in self.spec["targets"]])
        context = nlp.add_pipe("medspacy_context", config={"rules": None, "span_attrs": None})
        context.add([_context_rule(m) for m in self.spec["modifiers"]])
        return nlp

    @property
    def nlp(self):
        nlp = self._nlp
        if nlp is None or len(nlp.vocab.strings) > MAX_VOCABULARY:
            with self._lock:
                if self._nlp is None or len(self._nlp.vocab.strings) > MAX_VOCABULARY:
                    self._nlp = self._build()
                nlp = self._nlp
        return nlp

    def cut(self, text: str) -> tuple[str, bool]:
        if len(text) <= self.max_chars:
            return text, False
        log.info("narrative cut to %d of %d characters for analysis; the rest is ignored", self.max_chars, len(text))
        return text[: self.max_chars], True

    def skeleton(self, text: str) -> str:
        """The cheap pre-filter at line level: lines naming a mass or calcium are kept whole; of the
        others only a leading 'Title:' stays, so sections (and organ headings) are still seen. A
        400-word report shrinks to its few telling lines before spaCy tokenises anything."""
        kept = []
        for line in text.split("\n"):
            if self.relevant.search(line):
                kept.append(line)
            else:
                title = TITLE.match(line)
                kept.append(title.group(1) if title else "")
        return "\n".join(kept)

    def analyse(self, text: str) -> Analysis:
        """Targets with their assertions and sections, over at most `maxNarrativeChars` of text.

        Sections and sentences are found over the whole (cut) text; the target matcher and ConText
        run only on sentences that name a mass or calcium, each as its own small doc."""
        text, truncated = self.cut(text)
        text = self.skeleton(text)
        nlp = self.nlp
        sectionizer, sentencizer, breaks, matcher, context = (c for _, c in nlp.pipeline)
        with self._run_lock:
            doc = breaks(sentencizer(sectionizer(nlp.make_doc(text))))
            sections = [
                (doc[s.title_start].idx, s.category, doc[s.title_start : s.title_end].text)
                for s in doc._.sections
                if s.category
            ]
            sentences, mentions, analysed = [], [], 0
            for i, sent in enumerate(doc.sents):
                section, title = _section_at(sections, sent.start_char)
                sentences.append(Sentence(sent.start_char, sent.end_char, section, title))
                if not self.counts.get(section, True) or not self.relevant.search(sent.text):
                    continue  # history / indication sections never count: not worth ConText
                if analysed >= self.max_sentences:
                    log.info("narrative has more than %d relevant sentences; the rest is ignored", self.max_sentences)
                    truncated = True
                    break
                analysed += 1
                small = context(matcher(_as_doc(nlp, sent)))
                for ent in small.ents:
                    mods = frozenset(m.category for m in ent._.modifiers)
                    mentions.append(
                        Mention(
                            ent.label_,
                            ent.text,
                            sent.start_char + ent.start_char,
                            sent.start_char + ent.end_char,
                            i,
                            mods,
                            section,
                        )
                    )
        return Analysis(text, tuple(mentions), tuple(sentences), truncated, analysed)

    def assertions(self, text: str, spans: list[tuple[int, int]]) -> list[frozenset[str]]:
        """ConText categories for given character spans of a short text (coded labels, titles),
        sentence by sentence like a narrative. Callers cut the text to `max_label_chars` first."""
        nlp = self.nlp
        text = text[: self.max_label_chars]
        sectionizer, sentencizer, breaks, _, context = (c for _, c in nlp.pipeline)
        found: list[frozenset[str]] = [frozenset()] * len(spans)
        with self._run_lock:
            doc = breaks(sentencizer(sectionizer(nlp.make_doc(text))))
            for sent in doc.sents:
                inside = [(k, s, e) for k, (s, e) in enumerate(spans) if sent.start_char <= s < sent.end_char]
                if not inside:
                    continue
                small = _as_doc(nlp, sent)
                offset = sent.start_char
                ents = {
                    k: small.char_span(
                        s - offset, min(e, sent.end_char) - offset, label="CONCEPT", alignment_mode="expand"
                    )
                    for k, s, e in inside
                }
                small.ents = _no_overlap(ents.values())
                context(small)
                kept = {(e.start, e.end): frozenset(m.category for m in e._.modifiers) for e in small.ents}
                for k, span in ents.items():
                    if span is not None:
                        found[k] = kept.get((span.start, span.end), frozenset())
        return found


RELEVANT = ("MASS", "CALC")
TITLE = re.compile(r"^\s*([A-Za-z][A-Za-z /&()-]{0,40}:)")


def _as_doc(nlp, sent):
    """The sentence as its own doc (tokenising again is cheaper than Span.as_doc's copy)."""
    small = nlp.make_doc(sent.text)
    for token in small:
        token.is_sent_start = token.i == 0
    return small


def _no_overlap(spans):
    kept, last_end = [], -1
    for span in sorted((s for s in spans if s is not None), key=lambda s: s.start):
        if span.start >= last_end:
            kept.append(span)
            last_end = span.end
    return kept


def _section_at(sections: list[tuple[int, str, str]], offset: int) -> tuple[str | None, str]:
    current: tuple[str | None, str] = (None, "")
    for start, category, title in sections:
        if start > offset:
            break
        current = (category, title)
    return current


def _title_pattern(title: str) -> list[dict]:
    """Token pattern for 'TITLE:' (case-insensitive words, then a colon)."""
    return [{"LOWER": word} for word in title.lower().split()] + [{"ORTH": ":"}]


def _context_rule(spec: dict):
    from medspacy.context import ConTextRule

    return ConTextRule(
        spec["literal"],
        spec["category"],
        pattern=spec.get("pattern"),
        direction=spec["direction"],
        max_scope=spec.get("maxScope"),
    )


def check_patterns(spec: dict) -> list[str]:
    """Problems with the regular expressions in nlp.json (empty when all compile)."""
    problems = []
    for where in ("targets", "modifiers"):
        for i, item in enumerate(spec[where]):
            if item.get("pattern"):
                try:
                    re.compile(item["pattern"])
                except re.error as exc:
                    problems.append(f"{where}/{i}: invalid pattern {item['pattern']!r}: {exc}")
    try:
        re.compile(spec["size"])
    except re.error as exc:
        problems.append(f"size: invalid pattern: {exc}")
    return problems
