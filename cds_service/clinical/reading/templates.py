"""Structured report templates, read by their values.

Worksheets and templated reports say what prose would say with a field and a value:
"Calcification: None", "Calcification: [X] Yes [ ] No", or a table of lesions with a
calcification column. Before the text is read, a ticked checkbox becomes its word and an unticked
one disappears ("Calcification: [ ] Yes [X] No" reads "Calcification: No"), and each table row
becomes one field line ("Lesion: 1, Location: left kidney, Size: 3 cm, Calcification: yes"), so
the rest of the reader sees fields and sentences only. The value words themselves ("None",
"Absent", "No") are ConText cues in hooks/knowledge/nlp.json, like any other negation.
"""

from __future__ import annotations

import re

_CHECKED = r"(?:\[\s*[xX✓✔*]\s*\]|\(\s*[xX✓✔*]\s*\)|[☒☑■])"
_EMPTY = r"(?:\[\s*\]|\(\s*\)|[☐□])"
_WORD = r"[A-Za-z][A-Za-z/'-]*(?: (?:seen|present|identified|applicable|sure|known))?"
_BOX_FIRST = re.compile(rf"({_CHECKED}|{_EMPTY})[ \t]*({_WORD})")
_WORD_FIRST = re.compile(rf"({_WORD})[ \t]*({_CHECKED}|{_EMPTY})")
_TICKED = re.compile(_CHECKED)
_CELL_SPLIT = re.compile(r"\s*\|\s*|\t+|\s{2,}")
MAX_TABLE_ROWS = 40
NUMBERING = ("", "no", "nr", "num", "number")  # a "#" or "No." column numbers the table's lesions


def _ticked_words(line: str, pattern: re.Pattern, box_group: int, word_group: int) -> str | None:
    options = list(pattern.finditer(line))
    if len(options) < 2:
        return None
    chosen = [m.group(word_group) for m in options if _TICKED.fullmatch(m.group(box_group))]
    start, end = options[0].start(), options[-1].end()
    return line[:start] + ("/".join(chosen) if chosen else "not answered") + line[end:]


def checkboxes(line: str) -> str:
    """A line whose options are boxes, with each group of boxes replaced by the ticked word(s)."""
    if "[" not in line and "(" not in line and not any(c in line for c in "☒☑■☐□"):
        return line
    for pattern, box, word in ((_BOX_FIRST, 1, 2), (_WORD_FIRST, 2, 1)):
        read = _ticked_words(line, pattern, box, word)
        if read is not None:
            return read
    return line


def _cells(line: str) -> list[str]:
    stripped = line.strip().strip("|").strip()
    if not stripped or ("|" not in line and "\t" not in line and not re.search(r"\S {2,}\S", stripped)):
        return []
    return [c.strip() for c in _CELL_SPLIT.split(stripped)]


class Tables:
    """Turns lesion tables into field lines. `columns` (nlp.json `templates.columns`) names what a
    header cell may be; a header needs two known columns, one of them calcification or the lesion."""

    def __init__(self, columns: dict[str, list[str]]):
        self.columns = {name: re.compile(rf"^(?:{'|'.join(terms)})$", re.IGNORECASE) for name, terms in columns.items()}

    def _header(self, cells: list[str]) -> list[str | None] | None:
        names = [next((n for n, rx in self.columns.items() if rx.match(c.strip(" :*#"))), None) for c in cells]
        known = {n for n in names if n}
        if len(known) >= 2 and known & {"calcification", "lesion"}:
            return names
        return None

    def rewrite(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        header: list[str | None] | None = None
        titles: list[str] = []
        rows = 0
        for line in lines:
            if header is not None and not line.strip():
                continue  # HTML tables come with blank lines between their rows
            cells = _cells(line)
            if header is not None and cells and abs(len(cells) - len(header)) <= 1 and rows < MAX_TABLE_ROWS:
                if set("".join(cells)) <= set("-=:+ "):
                    continue  # a ruler line under the header
                fields = [f"{t}: {v}" for t, v in zip(titles, cells, strict=False) if v and t]
                if "lesion" not in header:  # a table with a calcification column tabulates lesions
                    fields.insert(0, "Lesion")
                out.append(", ".join(fields) + ".")
                rows += 1
                continue
            found = self._header(cells) if cells else None
            if found is not None:
                # a numbering column ("#", "No.") names the row's lesion
                titles = [
                    "Lesion" if n == "lesion" and c.strip(" :*#.").lower() in NUMBERING else c.strip(" :*#")
                    for n, c in zip(found, cells, strict=True)
                ]
                header, rows = found, 0
                out.append("")
                continue
            header = None
            out.append(line)
        return out
