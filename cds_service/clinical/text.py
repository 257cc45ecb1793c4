"""Free-text concept detection for short labels: Condition text, study descriptions, titles.

The patterns are data (hooks/knowledge/text.json). Whether a matched word is asserted is decided
by the same medspaCy ConText rules that read report narratives (hooks/knowledge/nlp.json), so the
service has one negation mechanism; ConText only runs when the label contains one of its cue words,
which short coded labels almost never do. 'absent' patterns are removed before 'present' ones are
tried, so that "non-calcified" never counts as "calcified".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

PRESENT = "present"
ABSENT = "absent"
# Verdicts remembered per concept: problem-list and study labels repeat from patient to patient
# ("Essential hypertension" is checked for "mass" on every chart). Short labels only, and the memo
# is emptied when full, so it holds at most MAX_REMEMBERED x MAX_REMEMBERED_CHARS characters.
MAX_REMEMBERED = 4096
MAX_REMEMBERED_CHARS = 200


def compile_any(patterns: list[str]) -> re.Pattern:
    """One case-insensitive alternation; callers validate each pattern first for a clear error."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


class Judge(Protocol):
    cue: re.Pattern  # any word that can change an assertion (no, without, rule out, ...)
    not_counted: frozenset
    max_label_chars: int

    def assertions(self, text: str, spans: list[tuple[int, int]]) -> list[frozenset[str]]: ...


@dataclass(frozen=True)
class TextConcept:
    """A concept found in prose: 'present' wins over 'absent'; None when not mentioned."""

    name: str
    present: re.Pattern
    absent: re.Pattern | None
    judge: Judge
    _verdicts: dict = field(default_factory=dict, compare=False, repr=False)

    def mentioned(self, text: str) -> bool:
        """Cheap pre-check: any pattern occurs at all, asserted or not."""
        return bool(text) and (
            self.present.search(text) is not None or (self.absent is not None and self.absent.search(text) is not None)
        )

    def assess(self, text: str | None) -> str | None:
        """A label longer than the judge's `max_label_chars` is read only up to it (bounded work)."""
        if not text:
            return None
        if len(text) > MAX_REMEMBERED_CHARS:
            return self._assess(text[: self.judge.max_label_chars])
        verdicts = self._verdicts
        if text in verdicts:
            return verdicts[text]
        verdict = self._assess(text[: self.judge.max_label_chars])
        if len(verdicts) >= MAX_REMEMBERED:
            verdicts.clear()
        verdicts[text] = verdict
        return verdict

    def _assess(self, text: str) -> str | None:
        if not self.mentioned(text):
            return None
        seen_absent = False
        if self.absent is not None:
            text, count = self.absent.subn(lambda m: " " * len(m.group(0)), text)
            seen_absent = count > 0
        spans = [m.span() for m in self.present.finditer(text)]
        if not spans:
            return ABSENT if seen_absent else None
        if not self.judge.cue.search(text):
            return PRESENT
        categories = self.judge.assertions(text, spans)
        return PRESENT if any(not (c & self.judge.not_counted) for c in categories) else ABSENT

    def found(self, *texts: str | None) -> bool:
        """True when any of the texts affirms the concept."""
        return any(self.assess(t) == PRESENT for t in texts if t)
