"""A report's sections, from whatever labels lead its lines.

Radiology reports are divided by labels, but no two templates agree on them: "FINDINGS:",
"Result:", "IMP:", "FINDINGS/IMPRESSION:", "Hx:", "Clinical details:", "Left kidney:", an
"ADDENDUM" line. Any line-leading "Label:" (or a short title line) starts a section. Known titles
map to a category (hooks/knowledge/nlp.json `sections`): history-like sections (history,
indication, comparison, technique) are not findings; findings-like ones are; an addendum or an
amendment is read last and outranks the body. A label that names an organ ("LT KIDNEY:") is an
organ heading: it places what follows. A label that names a structure or an attribute of one
("Mass:", "Calcification:", "Location:") is a template field, not a section: consecutive fields
describe one structure and are read together as one statement. Any other label is read as
findings (the documented default): a finding is never lost under an unfamiliar title.

Version text kept inside an amended report ("ORIGINAL REPORT:", "PRELIMINARY REPORT:") is read
only when nothing else in the document speaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import ORGAN, Lexicon
from .templates import Tables, checkboxes, queries

_LABEL = re.compile(r"^[ \t>*#•\-]*(?P<label>[A-Za-z][A-Za-z /&()'.,#-]{0,48}?)[ \t]*:(?!//)[ \t]*(?P<rest>.*)$")
_TITLE_LINE = re.compile(r"^[ \t*#=_\-]*(?P<label>[A-Za-z][A-Za-z /&()'-]{1,48}?)[ \t*#=_\-]*$")
# "ADDENDUM", "*** ADDENDUM 1 (11/10/2026 10:15) ***:", "ADDENDUM 11/21/2026:", "Addendum by Dr Lee,
# 21 Nov 10:15:", "Amended report:" and what follows on the line; alone on its line, only numbers,
# dates and times may follow the word ("ADDENDUM 2 11/21/2026")
_ADDENDUM_DATING = r"(?:[ \t]*[\d/.:-]+|[ \t]*\([^)\n]*\)|[ \t]*[*=#_-]+)*"  # numbers, dates, times, rules
_ADDENDUM_LINE = re.compile(
    r"^[\W_]*(?:addend(?:um|a)|amended report|corrected report)\b"
    r"(?:[^:\n]{0,60}?(?:\d:\d[^:\n]{0,30}?)*:(?!//)"  # "... by Dr Lee, 21 Nov 10:15:"
    rf"|{_ADDENDUM_DATING}[ \t]*$"  # alone on its line
    rf"|{_ADDENDUM_DATING}[ \t]+(?=(?-i:[A-Z][a-z])))[ \t]*",  # "ADDENDUM 2 11/21/2026 On review, ..."
    re.IGNORECASE,
)
# a label inside a line after a sentence ends (one-line reports): "... normal. Impression: ...", and an
# addendum header, which may have no colon ("... normal. ADDENDUM 11/21/2026 On review ...")
_INLINE_LABEL = re.compile(
    r"(?<=[.!?;])[ \t]+(?=[A-Z][A-Za-z /&()-]{1,40}:[ \t]|[*=#_ -]*(?:ADDEND(?:UM|A)|Addend(?:um|a))\b)"
)
_CONTINUES = re.compile(r"[^.!?:]\s*$")  # a line that ends mid-sentence
WRAP_WIDTH = 55  # a line at least this long that ends mid-sentence was wrapped by the editor


def _wraps(previous: str, line: str) -> bool:
    """Whether `line` goes on with the sentence `previous` started: the previous line ends
    mid-sentence and was long enough to have been wrapped, or `line` starts in lower case. A short
    history line without a full stop ("Indication: L flank mass") is a whole line."""
    if not _CONTINUES.search(previous):
        return False
    return len(previous) >= WRAP_WIDTH or line[:1].islower()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_LABEL_COLON = re.compile(r"(?<=[A-Za-z)])[ \t]*:[ \t]")
_WORD = re.compile(r"[A-Za-z][A-Za-z/()-]*")
_PLAIN_LABEL = re.compile(r"[A-Za-z][A-Za-z /()-]*")
_VALUES = {"no", "yes", "none", "present", "absent", "not", "negative", "positive", "nil", "y", "n"}
_WORDS_OF_TITLE = re.compile(r"[^a-z]+")
MAX_TITLE_WORDS = 6
MAX_REMEMBERED = 4096  # label readings kept (labels are at most 49 characters)


@dataclass(frozen=True)
class Section:
    category: str  # history | comparison | technique | replaced | addendum | findings | impression | organ | other
    counts: bool
    title: str
    units: tuple[str, ...]  # what to read: paragraphs, and runs of template fields joined into one statement
    organ: str | None = None  # the structure kind an organ heading names
    side: str | None = None  # the side an organ heading names
    override: bool = False  # an addendum or amendment: what it says about the mass outranks the body


def _norm(title: str) -> str:
    return " ".join(_WORDS_OF_TITLE.sub(" ", title.lower()).split())


class Sectioner:
    def __init__(self, spec: dict, lexicon: Lexicon):
        self.lexicon = lexicon
        self.categories: list[dict] = spec["categories"]
        self.exact = {_norm(t): c for c in self.categories for t in c["titles"]}
        self.contained = [(c, [_norm(w) for w in c.get("words", ())]) for c in self.categories]
        self.default = next(c for c in self.categories if c["category"] == spec["default"])
        self.fields = re.compile(rf"^(?:{'|'.join(spec['fields'])})$", re.IGNORECASE)
        self.tables = Tables(spec["columns"])
        self.by_category = {c["category"]: c for c in self.categories}
        self._headings: dict[str, tuple[str, str | None, str | None] | None] = {}

    def _category(self, title: str) -> dict | None:
        norm = _norm(title)
        if norm in self.exact:
            return self.exact[norm]
        parts = [p for p in re.split(r"\s*(?:/|&|\band\b|,)\s*", title.lower()) if p.strip()]
        found = [self.exact[_norm(p)] for p in parts if _norm(p) in self.exact]
        if found:
            return next((c for c in found if c["counts"]), found[0])
        words = set(norm.split())
        if len(words) > MAX_TITLE_WORDS - 1:
            return None  # a long label is prose with a colon in it, read as findings
        for category, terms in self.contained:
            if any((t in words) if " " not in t else (t in norm) for t in terms):
                return category
        return None

    def _heading(self, label: str) -> tuple[str, str | None, str | None] | None:
        """('organ', kind, side) for a label naming only places; ('field', ...) for one naming a
        structure or an attribute; None for anything else. Remembered: labels repeat from report
        to report (a memo of short labels, emptied when full)."""
        if label in self._headings:
            return self._headings[label]
        if len(self._headings) >= MAX_REMEMBERED:
            self._headings.clear()
        found = self._headings[label] = self._read_heading(label)
        return found

    def _read_heading(self, label: str) -> tuple[str, str | None, str | None] | None:
        if self.fields.match(_norm(label)) or self.fields.match(label.strip().lower()):
            return "field", None, None
        mentions = self.lexicon.mentions(label)
        structures = [m for m in mentions if m.layer == "structure"]
        if any(m.layer == "calcium" for m in mentions) or any(
            self.lexicon.by_kind[m.kind].cls != ORGAN for m in structures
        ):
            return "field", None, None
        organs = [m for m in structures if self.lexicon.by_kind[m.kind].cls == ORGAN]
        if organs and len(label.split()) <= MAX_TITLE_WORDS:
            side = next((m.kind for m in mentions if m.layer == "side"), None)
            return "organ", organs[-1].kind, side
        return None

    def _inline(self, line: str) -> str:
        """A report or template flattened onto one line: a break before each label the sectioner
        knows ("... 10.9 cm Lesion: Yes ... Left kidney: ..."), the longest such label before each
        colon, never one that starts with a value ("No Calcification:" is "No" then a label)."""
        if line.count(":") < 2:
            return line
        cuts = []
        for colon in _LABEL_COLON.finditer(line):
            words = list(_WORD.finditer(line, max(0, colon.start() - 40), colon.start()))
            for k in range(min(4, len(words)), 0, -1):
                first = words[-k]
                label = line[first.start() : colon.start()].strip()
                if (
                    first.start() == 0
                    or not first.group(0)[0].isupper()
                    or first.group(0).lower() in _VALUES
                    or not _PLAIN_LABEL.fullmatch(label)
                ):
                    continue
                if line[words[-1].end() : colon.start()].strip() == "" and (
                    self._heading(label) or self._category(label)
                ):
                    cuts.append(first.start())
                    break
        for cut in reversed(cuts):
            line = line[:cut].rstrip() + "\n" + line[cut:]
        return line

    def _lines(self, text: str) -> list[str]:
        text = _INLINE_LABEL.sub("\n", text.replace("\r\n", "\n").replace("\r", "\n"))
        text = "\n".join(self._inline(queries(checkboxes(line))) for line in text.split("\n"))
        return self.tables.rewrite(text.split("\n"))

    def split(self, text: str) -> list[Section]:
        reader = _Builder(self.default)
        for line in self._lines(text):
            if not line.strip():
                reader.blank()
                continue
            addendum = _ADDENDUM_LINE.match(line)
            if addendum:
                reader.start(
                    self.by_category["addendum"], line[: addendum.end()].strip(" *#=-:\t"), line[addendum.end() :]
                )
                continue
            label = _LABEL.match(line)
            title = None if label else _TITLE_LINE.match(line)
            heading = label or title
            if heading is None:
                reader.text(line)
                continue
            name = heading.group("label")
            rest = label.group("rest") if label else ""
            category = self._category(name)
            kind = None if category is not None and not category["counts"] else self._heading(name)
            if label is None and not name.isupper() and _norm(name) not in self.exact:
                if not (kind is not None and kind[0] == "organ" and len(name.split()) <= 4):
                    reader.text(line)  # a short line of prose, not a title ("Left kidney" alone is one)
                    continue
            if kind is not None and kind[0] == "field":
                reader.field(line.strip())
            elif kind is not None:
                reader.start(self.by_category["findings"], name, rest, organ=kind[1], side=kind[2])
            elif category is not None or label is not None:
                reader.start(category or self.default, name, rest)
            else:
                reader.text(line)  # a short line of prose, not a title
        return _settle_versions(reader.finish())


class _Builder:
    """Collects lines into sections. A history-like section whose text starts on its label's line
    ends with that sentence (what follows without a label is untitled, and read); one whose label
    stands alone runs to the next blank line or label."""

    def __init__(self, default: dict):
        self.default = default
        self.sections: list[Section] = []
        self.spec: dict | None = None
        self.title, self.organ, self.side = "", None, None
        self.units: list[str] = []
        self.para: list[str] = []
        self.fields: list[str] = []
        self.ends_with_sentence = False  # a history-like section that closes when its sentence ends

    def _flush(self) -> None:
        if self.fields:
            self.units.append(", ".join(self.fields))
            self.fields.clear()
        if self.para:
            self.units.append("\n".join(self.para))
            self.para.clear()

    def _close(self) -> None:
        self._flush()
        spec = self.spec or self.default
        if self.units or self.spec is not None:
            self.sections.append(
                Section(
                    category="organ" if self.organ else spec["category"],
                    counts=spec["counts"],
                    title=self.title,
                    units=tuple(self.units),
                    organ=self.organ,
                    side=self.side,
                    override=bool(spec.get("override")),
                )
            )
        self.units = []

    def _history(self) -> bool:
        return self.spec is not None and not self.spec["counts"]

    def start(self, spec: dict, title: str, rest: str = "", organ=None, side=None) -> None:
        self._close()
        self.spec, self.title, self.organ, self.side = spec, title.strip(), organ, side
        self.ends_with_sentence = False
        rest = rest.strip()
        after = ""
        if spec.get("oneSentence") and (cut := _SENTENCE_END.search(rest)):
            rest, after = rest[: cut.start()], rest[cut.end() :]
        if rest:
            self.text(rest)
            self.ends_with_sentence = self._history()
        if after:  # "FHx: Wilms tumour (father). A calcified mass ...": the rest is untitled, and read
            self.start(self.default, "")
            self.spec = None
            self.text(after)

    def text(self, line: str) -> None:
        if self.ends_with_sentence and self.para and not _wraps(self.para[-1], line):
            self.start(self.default, "")  # the history sentence has ended: untitled text follows
            self.spec = None
        if self.fields:
            self._flush()
        self.para.append(line)

    def field(self, line: str) -> None:
        if self.para:
            self._flush()
        self.fields.append(line)

    def blank(self) -> None:
        self._flush()
        if self._history() and self.units:
            self.start(self.default, "")
            self.spec = None

    def finish(self) -> list[Section]:
        self._close()
        return self.sections


def _settle_versions(sections: list[Section]) -> list[Section]:
    """Old version text inside an amended report counts only when nothing else speaks."""
    if not any(s.category == "replaced" for s in sections):
        return sections
    others = any(s.counts and s.units for s in sections if s.category != "replaced")
    return [
        Section(s.category, s.counts and not others, s.title, s.units, s.organ, s.side, s.override)
        if s.category == "replaced"
        else s
        for s in sections
    ]
