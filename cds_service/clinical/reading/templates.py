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
_RUN_TOGETHER = re.compile(r"(?<=[A-Za-z)])\s+(?=\d{1,2}$)")
NUMBERING = ("", "no", "nr", "num", "number")  # a "#" or "No." column numbers the table's lesions


def _ticked_words(line: str, pattern: re.Pattern, box_group: int, word_group: int) -> str | None:
    """Each run of options (boxes with their words, nothing else between) becomes its ticked
    word(s); a line may carry several fields' runs ("Mass: [ ] Yes [X] No  Calcification: [X] Yes")."""
    options = list(pattern.finditer(line))
    if len(options) < 2:
        return None
    runs: list[list[re.Match]] = [[options[0]]]
    for option in options[1:]:
        if line[runs[-1][-1].end() : option.start()].strip():
            runs.append([option])
        else:
            runs[-1].append(option)
    for run in reversed(runs):
        chosen = [m.group(word_group) for m in run if _TICKED.fullmatch(m.group(box_group))]
        line = line[: run[0].start()] + ("/".join(chosen) if chosen else "not answered") + line[run[-1].end() :]
    return line


_QUERY = re.compile(r"(?:(?<=^)|(?<=[\s:(]))\?[ \t]*(?=[A-Za-z])")


def queries(line: str) -> str:
    """A leading "?" marks a query ("? calcified mass"): spelled as a word, so the sentence is not
    cut at it and the query cue of nlp.json governs what follows."""
    return _QUERY.sub("query ", line) if "?" in line else line


def checkboxes(line: str) -> str:
    """A line whose options are boxes, with each run of boxes replaced by the ticked word(s)."""
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

    def _one_line(self, line: str) -> list[str]:
        """A table flattened onto one line: its header's cells, then rows of as many cells (the
        last cell of one row and the first of the next may have run together: "Present 2")."""
        cells = _cells(line)
        for candidate in (cells, [part for c in cells for part in _RUN_TOGETHER.split(c)]):
            width = next((i for i, c in enumerate(candidate) if not self._column(c)), len(candidate))
            if 2 <= width < len(candidate) and len(candidate) % width == 0 and self._header(candidate[:width]):
                return [" | ".join(candidate[i : i + width]) for i in range(0, len(candidate), width)]
        return [line]

    def _column(self, cell: str) -> bool:
        return any(rx.match(cell.strip(" :*#")) for rx in self.columns.values())

    def rewrite(self, lines: list[str]) -> list[str]:
        lines = [row for line in lines for row in (self._one_line(line) if line.count("|") >= 5 else [line])]
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
