"""What a sentence asserts about each thing it names, with medspaCy's ConText, bounded by the clause.

ConText pairs each cue ("no", "without", "possible", "evaluate for", "status post", "family
history", "fetal", ...) with the targets in its scope. A cue's scope here ends where its clause
ends, not only at the sentence's end: at the TERMINATE cues of hooks/knowledge/nlp.json ("but",
"however", ";", "with"), at a clause break (`clauseBreaks`: a comma that opens a new finding with
an article, a number or "there", "and a ..."), and at a bare comma unless the words after it go on
as a coordinated list ("no hydronephrosis, stones or masses" negates all three; "no
hydronephrosis, calcified mass in the left kidney" negates only the first). PSEUDO cues take the
words of a cue that asserts nothing by itself ("no interval growth of the calcified mass" says the
mass is there). The categories a target collects are turned into one assertion by the precedence
in `assertions.order` (nlp.json): other subject, hypothetical, historical (unless a current cue
says the finding persists), negated, uncertain, present.

The spaCy pipeline is rule-based (blank English, sentencizer, ConText): no model download. It is
built once per process on first use, behind a lock, and rebuilt when its vocabulary grows past a
bound (new words would otherwise grow a worker's memory without end).
"""

from __future__ import annotations

import re
import threading
import warnings
from functools import partial

# Every rule here is a regular expression, so medspaCy's token-pattern matcher stays empty by design;
# spaCy warns about that (W036) on each call, which would only be noise in the log.
warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)

MAX_VOCABULARY = 200_000
BULLETS = {"-", "*", "•", "·", "–", "—", "+"}
# A line that ends with one of these goes on to the next line (a wrapped sentence, not a new one).
CONNECTIVES = {"with", "of", "and", "or", "the", "a", "an", "in", "to", "for", "by", "w/", "within", "without", "at"}
_CONJUNCTION = re.compile(r"^\s*,?\s*(?:or|and|nor|and/or|/)\b", re.IGNORECASE)
_LIST_WORD = re.compile(r"\b(?:or|and|nor|and/or)\b", re.IGNORECASE)
PRESENT = "present"


def _sentence_breaks(max_tokens: int):
    """A spaCy component after the sentencizer: reports also end sentences at blank lines, list
    bullets and numbered items, and no sentence runs past `max_tokens` tokens (ConText stays linear)."""

    def component(doc):
        starts = doc.to_array(["SENT_START"]).tolist()
        texts = [t.text_with_ws for t in doc]
        run = 0
        for i in range(1, len(texts)):
            if starts[i] != 1 and "\n" in texts[i - 1] and _line_break(doc, texts, i):
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
    """After a newline: a blank line, a list bullet, a numbered item, or a line that starts with a
    capital (reports put one statement per line) unless the line before ends mid-phrase."""
    if texts[i - 1].count("\n") >= 2 or (i > 1 and "\n" in texts[i - 2] and not texts[i - 1].strip()):
        return True
    word = texts[i].strip()
    if word in BULLETS:
        return True
    if doc[i].like_num and i + 1 < len(texts) and texts[i + 1].strip() in (".", ")"):
        return True
    previous = texts[i - 1].strip().lower()
    return word[:1].isupper() and previous not in CONNECTIVES and not previous.endswith((",", "-", "/"))


class Assertor:
    """The medspaCy pipeline and the assertion policy of hooks/knowledge/nlp.json."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.max_tokens = spec["maxSentenceTokens"]
        self.max_label_chars = spec["maxLabelChars"]
        policy = spec["assertions"]
        self.order: list[tuple[str, str]] = [(c, a) for c, a in policy["order"]]
        self.current = frozenset(policy["current"])
        self.counted = frozenset(policy["counted"])
        self.not_counted = frozenset(c for c, a in self.order if a not in self.counted)
        self.breaks = re.compile("|".join(f"(?:{p})" for p in spec["clauseBreaks"]), re.IGNORECASE)
        # what ends even a comma-free cue's scope: the breaks that are not commas
        self.hard_breaks = re.compile(
            "|".join(f"(?:{p})" for p in spec["clauseBreaks"] if not p.startswith(",")), re.IGNORECASE
        )
        self.forward_breaks = re.compile("|".join(f"(?:{p})" for p in spec["forwardBreaks"]), re.IGNORECASE)
        self.comma_free = frozenset(spec["commaFreeCues"])
        self.cue = re.compile(
            "|".join(f"(?:{m['pattern']})" for m in spec["modifiers"] if m["category"] in self.not_counted),
            re.IGNORECASE,
        )
        # any cue that can change an assertion: a sentence without one is all "present", no ConText needed
        self.any_cue = re.compile(
            "|".join(
                f"(?:{m['pattern']})"
                for m in spec["modifiers"]
                if m["direction"] not in ("TERMINATE", "PSEUDO") and m["category"] not in self.current
            ),
            re.IGNORECASE,
        )
        self._nlp = None
        self._lock = threading.Lock()
        # Calls are serialised: the matchers are not documented as thread-safe, and under the GIL a
        # CPU-bound pass gains nothing from running two at once.
        self.run_lock = threading.Lock()

    # -- the pipeline -------------------------------------------------------------------------
    def _build(self):
        import spacy
        from medspacy.context import ConText, ConTextRule  # noqa: F401 (registers the factory)

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        name = f"cds_report_sentence_breaks_{self.max_tokens}"
        if name not in spacy.registry.factories.get_all():
            spacy.Language.component(name, func=_sentence_breaks(self.max_tokens))
        nlp.add_pipe(name)
        context = nlp.add_pipe(
            "medspacy_context",
            config={"rules": None, "span_attrs": None, "input_span_type": "group", "span_group_name": "targets"},
        )
        context.add(
            [
                ConTextRule(
                    m.get("literal") or m["pattern"],
                    m["category"],
                    pattern=m["pattern"],
                    direction=m["direction"],
                    max_scope=m.get("maxScope"),
                    on_modifies=None
                    if m["direction"] in ("TERMINATE", "PSEUDO")
                    else partial(self._within_clause, comma_free=m["category"] in self.comma_free),
                )
                for m in self.spec["modifiers"]
            ]
        )
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

    def _within_clause(self, target, modifier, _between, comma_free: bool = False) -> bool:
        """Whether a cue reaches a target: no clause break between them, and a bare comma only
        inside a coordinated list ("no A, B or C")."""
        text = target.doc.user_data["text"]  # Doc.text joins every token anew on each access
        if modifier.start < target.start:
            start, end = modifier.end_char, target.start_char
            after = text[target.end_char : target.end_char + 40]
            if self.forward_breaks.search(text, start, end):
                return False
        else:
            start, end = target.end_char, modifier.start_char
            after = ""
        if (self.hard_breaks if comma_free else self.breaks).search(text, start, end):
            return False  # searched in place: a break may look behind ("if there is")
        between = text[start:end]
        if comma_free:
            return True
        if "," in between and not _LIST_WORD.search(between.split(",", 1)[1]) and not _CONJUNCTION.match(after):
            return False
        return True

    # -- sentences and assertions --------------------------------------------------------------
    def sentences(self, text: str) -> list[str]:
        """The sentences of one unit of text (a paragraph or a run of fields)."""
        nlp = self.nlp
        sentencizer, breaks, _ = (c for _, c in nlp.pipeline)
        with self.run_lock:
            doc = breaks(sentencizer(nlp.make_doc(text)))
            return [s.text for s in doc.sents if s.text.strip()]

    def categories(self, sentence: str, spans: list[tuple[int, int]]) -> list[frozenset[str]]:
        """ConText categories of each character span of one sentence (one small doc: ConText pairs
        every cue with every target of a doc, so one bounded sentence keeps that constant)."""
        if not spans:
            return []
        if not self.any_cue.search(sentence):
            return [frozenset()] * len(spans)
        nlp = self.nlp
        _, _, context = (c for _, c in nlp.pipeline)
        with self.run_lock:
            doc = nlp.make_doc(sentence)
            doc.user_data["text"] = sentence
            for token in doc:
                token.is_sent_start = token.i == 0
            targets = [doc.char_span(s, e, label="T", alignment_mode="expand") for s, e in spans]
            doc.spans["targets"] = [t for t in targets if t is not None]
            context(doc)
            found = {(t.start, t.end): frozenset(m.category for m in t._.modifiers) for t in doc.spans["targets"]}
        return [found.get((t.start, t.end), frozenset()) if t is not None else frozenset() for t in targets]

    def assertion(self, categories: frozenset[str]) -> str:
        """One assertion from a target's categories, by the policy's precedence."""
        for category, assertion in self.order:
            if category in categories and not (assertion == "historical" and categories & self.current):
                return assertion
        return PRESENT

    def assertions(self, text: str, spans: list[tuple[int, int]]) -> list[frozenset[str]]:
        """ConText categories for spans of a short label (Condition text, study descriptions),
        sentence by sentence like a report; callers cut the label to `max_label_chars` first."""
        text = text[: self.max_label_chars]
        found: list[frozenset[str]] = [frozenset()] * len(spans)
        offset = 0
        for sentence in self.sentences(text):
            start = text.find(sentence, offset)
            end = start + len(sentence)
            offset = end
            inside = [(k, s - start, min(e, end) - start) for k, (s, e) in enumerate(spans) if start <= s < end]
            for (k, _, _), cats in zip(inside, self.categories(sentence, [(s, e) for _, s, e in inside]), strict=True):
                found[k] = cats
        return found
