"""What the imaging reports' narratives add: masses described only in the report, calcification
tied to the mass, and later reports that say the mass is not there.

Trust order per report: conclusionCode and linked Observations (clinical/imaging.py) before the
narrative read here. A report mass counts for a card on its own only when the ultrasound report
places it in the flank / renal / retroperitoneal / adrenal region and describes its calcification
(problem lists lag the radiology report). A later ultrasound or CT of the region that states there
is no mass (for that side) supersedes earlier findings, whether from a report or the problem list;
the newest report that speaks of a mass there decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from .imaging import DEAD, Finding
from .knowledge import Knowledge
from .masses import Mass
from .narrative import report_text
from .orders import classify_concept, modality_of
from .reading import EMPTY, Reading

WITH_CODED_MASS = ("flank", "abdomen", "unspecified")  # where a calcified mass may sit when the chart codes one
MAX_READ = 12  # narratives read per request (newest first); older ones cannot change the answer


@dataclass
class ReportReading:
    ref: str
    modality: str  # us | ct | mr
    date: str
    reading: Reading


def report_date(report: dict) -> str:
    value = report.get("effectiveDateTime") or report.get("issued") or ""
    if not isinstance(value, str):
        value = (report.get("effectivePeriod") or {}).get("start") or ""
    return value if isinstance(value, str) else ""


def read_reports(record, kb: Knowledge, us_reports: dict[str, dict], coded_mass: bool) -> list[ReportReading]:
    """Narrative readings of the qualifying ultrasound reports and of CT/MR reports of the region,
    newest first, up to and including the newest ultrasound that shows a calcified mass: it is the
    finding cited, and no older report can supersede it, so older narratives are not read."""
    regions = WITH_CODED_MASS if coded_mass else ("flank",)
    limit = kb.reader.pipeline.max_chars
    items: list[tuple[str, str, str, dict]] = [(report_date(r), ref, "us", r) for ref, r in us_reports.items()]
    for report in record.of_type("DiagnosticReport"):
        if report.get("status") in DEAD:
            continue
        modality = modality_of(classify_concept(report.get("code"), kb), kb)
        if modality in ("ct", "mr"):
            items.append((report_date(report), f"DiagnosticReport/{report.get('id')}", modality, report))
    items.sort(key=lambda item: item[0], reverse=True)
    readings = []
    for date, ref, modality, report in items[:MAX_READ]:
        text = report_text(report, record.binaries, limit)
        reading = kb.reader.read(text) if text else EMPTY
        readings.append(ReportReading(ref, modality, date, reading))
        if modality == "us" and reading.calcified_masses(regions):
            break
    return readings


def report_masses(kb: Knowledge, readings: list[ReportReading]) -> list[Mass]:
    """Calcified flank-region masses described in ultrasound reports, newest first."""
    template = kb.raw["nlp"]["reportMassLabel"]
    found = []
    for item in readings:
        if item.modality != "us":
            continue
        for statement in item.reading.calcified_masses():
            label = template.format(date=item.date[:10] or "unknown date", phrase=statement.phrase)
            found.append(
                Mass(
                    resource={},
                    ref=item.ref,
                    label=label,
                    side=statement.side,
                    date=item.date or None,
                    size_cm=statement.size_cm,
                    from_report=True,
                )
            )
            break
    return found


def calcified_in_reports(readings: list[ReportReading], coded_mass: bool) -> list[Finding]:
    regions = WITH_CODED_MASS if coded_mass else ("flank",)
    return [
        Finding(
            "calcification",
            item.ref,
            item.date or None,
            how="report-text",
            side=next((m.side for m in item.reading.calcified_masses(regions) if m.side), None),
        )
        for item in readings
        if item.modality == "us" and item.reading.calcified_masses(regions)
    ]


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
