"""Free-text concept detection with negation, for radiology wording.

Reports state findings in prose ("echogenic foci with posterior acoustic shadowing") and state
their absence just as often ("no calcification", "non-calcified"). A plain substring search
would fire on both, so each hit is checked for a negation cue in the same clause, close by.
The patterns themselves are data (hooks/knowledge/text.json); this module only applies them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PRESENT = "present"
ABSENT = "absent"


def compile_any(patterns: list[str]) -> re.Pattern:
    """One case-insensitive alternation; callers validate each pattern first for a clear error."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class Negation:
    window: int
    before: re.Pattern
    after: re.Pattern
    boundaries: re.Pattern
    clause_split: re.Pattern

    def negated(self, clause: str, start: int, end: int) -> bool:
        prefix = clause[:start]
        cut = None
        for cut in self.boundaries.finditer(prefix):
            pass
        if cut is not None:
            prefix = prefix[cut.end():]
        if self.before.search(" ".join(prefix.split()[-self.window:])):
            return True
        suffix = clause[end:]
        stop = self.boundaries.search(suffix)
        if stop is not None:
            suffix = suffix[:stop.start()]
        return bool(self.after.search(" ".join(suffix.split()[:self.window + 2])))


@dataclass(frozen=True)
class TextConcept:
    """A concept found in prose: 'present' wins over 'absent'; None when not mentioned."""

    name: str
    present: re.Pattern
    absent: re.Pattern | None
    negation: Negation

    def mentioned(self, text: str) -> bool:
        """Cheap pre-check: any pattern occurs at all, negated or not."""
        return bool(text) and (self.present.search(text) is not None
                               or (self.absent is not None and self.absent.search(text) is not None))

    def assess(self, text: str | None) -> str | None:
        if not text or not self.mentioned(text):
            return None
        seen_absent = False
        for clause in self.negation.clause_split.split(text):
            if self.absent is not None:
                masked, count = self.absent.subn(lambda m: " " * len(m.group(0)), clause)
                seen_absent = seen_absent or count > 0
                clause = masked
            for match in self.present.finditer(clause):
                if not self.negation.negated(clause, match.start(), match.end()):
                    return PRESENT
                seen_absent = True
        return ABSENT if seen_absent else None

    def found(self, *texts: str | None) -> bool:
        """True when any of the texts affirms the concept."""
        return any(self.assess(t) == PRESENT for t in texts if t)
