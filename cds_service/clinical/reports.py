"""What the imaging reports' narratives add: masses described only in the report, calcification
tied to the mass, and later reports that say the mass is not there.

Trust order per report: conclusionCode and linked Observations (clinical/imaging.py) before the
narrative read here. A report mass counts for a card on its own only when the ultrasound report
places it in the flank / renal / retroperitoneal / adrenal region and describes its calcification
(problem lists lag the radiology report). A later ultrasound or CT of the region that states there
is no mass (for that side) supersedes earlier findings, whether from a report or the problem list;
the newest report that speaks of a mass there decides. Reports are the documents of
reading/document.py: current versions only, addenda included, future dates treated as undated.
"""

from __future__ import annotations

from dataclasses import dataclass

from .imaging import Finding
from .knowledge import Knowledge
from .masses import Mass
from .reading.attribution import MassStatement
from .reading.document import Document
from .reading.reader import EMPTY, PLACES, Reading, merge_sides

WITH_CODED_MASS = PLACES  # where a calcified mass may sit when the chart codes one
MAX_READ = 12  # narratives read per request (newest first); older ones cannot change the answer


@dataclass
class ReportReading:
    ref: str
    modality: str  # us | ct | mr
    date: str
    title: str
    reading: Reading


def read_reports(record, kb: Knowledge, us_reports: dict[str, Document], docs: list[Document], coded_mass: bool):
    """Narrative readings of the qualifying ultrasound reports and of CT/MR reports, newest first,
    up to and including the newest ultrasound that shows a calcified mass: it is the finding cited,
    and no older report can supersede it, so older narratives are not read."""
    regions = WITH_CODED_MASS if coded_mass else ("flank",)
    items = list(us_reports.values()) + [d for d in docs if d.modality in ("ct", "mr") and d.ref not in us_reports]
    items.sort(key=lambda d: d.date, reverse=True)
    readings = []
    for doc in items[:MAX_READ]:
        text = doc.text(record.binaries, kb.reader.max_chars)
        reading = kb.reader.read(text) if text else EMPTY
        modality = "us" if doc.ref in us_reports else doc.modality or "us"
        readings.append(ReportReading(doc.ref, modality, doc.date, doc.title, reading))
        if modality == "us" and reading.calcified_masses(regions):
            break
    return readings


def standing_calcified(readings: list[ReportReading], regions) -> list[tuple[ReportReading, list[MassStatement]]]:
    """Each ultrasound reading with its calcified masses that a newer ultrasound has not contradicted:
    a newer report that describes the mass on that side and says it has no calcification outranks
    an older one that saw some (a follow-up that is silent about calcium does not)."""
    denied: set[str | None] = set()
    found = []
    for item in readings:  # newest first
        if item.modality != "us":
            continue
        kept = [
            m
            for m in item.reading.calcified_masses(regions)
            if not (None in denied or (m.side is None and denied) or m.side in denied or "bilateral" in denied)
        ]
        if kept:
            found.append((item, kept))
        denied |= {m.side for m in item.reading.masses if m.region in regions and m.calcium_denied}
    return found


def report_masses(readings: list[ReportReading]) -> list[Mass]:
    """Calcified flank-region masses described in ultrasound reports, newest first."""
    found = []
    for item, statements in standing_calcified(readings, ("flank",)):
        for statement in statements:
            found.append(
                Mass(
                    resource={},
                    ref=item.ref,
                    label=statement.phrase,
                    side=statement.side,
                    date=item.date or None,
                    size_cm=statement.size_cm,
                    from_report=True,
                    quote=statement.phrase,
                    source=item.title,
                )
            )
            break
    return found


def calcified_in_reports(readings: list[ReportReading], coded_mass: bool) -> list[Finding]:
    regions = WITH_CODED_MASS if coded_mass else ("flank",)
    found = []
    for item, statements in standing_calcified(readings, regions):
        first = next((m for m in statements if m.side), statements[0])
        found.append(
            Finding(
                "calcification",
                item.ref,
                item.date or None,
                how="report-text",
                label=item.title or None,
                side=merge_sides(m.side for m in statements),
                quote=first.calcium_phrase or first.phrase,
            )
        )
    return found


def flank_site_reported(readings: list[ReportReading]) -> bool:
    """Some ultrasound report places a mass in the flank region (for quadrant-coded masses)."""
    return any(item.modality == "us" and item.reading.region_masses() for item in readings)


def superseded(readings: list[ReportReading], side: str | None) -> str | None:
    """The ref of the newest ultrasound / CT / MR report that speaks of a mass on this side and
    says there is none; None when the finding stands. The problem list's dates are not compared:
    a Condition is often recorded weeks after the imaging it came from."""
    for item in readings:  # newest first
        reading = item.reading
        seen = [m for m in reading.masses if m.region in WITH_CODED_MASS]
        if any(side is None or m.side is None or m.side == side or "bilateral" in (m.side, side) for m in seen):
            return None
        sides = reading.no_mass
        if sides and (None in sides or side is None or side in sides or "bilateral" in sides):
            return item.ref
    return None
