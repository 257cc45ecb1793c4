"""The report as a document: which resources are imaging reports, of what, when, and which
version of each still speaks.

An imaging report reaches us as a DiagnosticReport (text in `conclusion`, `presentedForm` or
`text.div`) or, from US Core servers, as a DocumentReference clinical note (its attachments). Both
become one `Document`. A report has versions: a final report replaces the preliminary one of the
same study, an amended or corrected report replaces what it amends (same ImagingStudy, same
accession identifier, or a DocumentReference `relatesTo` "replaces"); a DocumentReference that
"appends" is the report's addendum and is read as part of it. Entered-in-error, cancelled and
registered (no result yet) reports say nothing. A date after the moment of evaluation is a keying
error: such a report counts as undated, so it can never be the newest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..codes import concept_text, ref_key, ref_keys
from ..knowledge import Knowledge
from ..orders import classify_concept, modality_of
from ..studies import modalities, study_text
from .transport import report_text

SILENT = ("cancelled", "entered-in-error", "registered")  # a tuple: a malformed (list) status must not raise
# Which version of a report speaks when several describe one study: the highest rank, then the newest.
RANK = {"amended": 3, "corrected": 3, "appended": 3, "final": 2, "current": 2, "preliminary": 1, "partial": 1}
FUTURE_SLACK = timedelta(days=1)  # time zones and clocks differ; a day ahead is not yet a keying error
HEADER_CHARS = 300  # where a report without a coded modality names its exam ("EXAM: US RENAL")
# the lines of a report's head that name its exam: the first line, or a labelled one
_EXAM_LINE = re.compile(
    r"^\s*(?:exam(?:ination)?|procedure|study|type|modality|test)\b[^:\n]{0,20}:\s*(.+)$", re.I | re.M
)


@dataclass
class Document:
    ref: str  # 'DiagnosticReport/x' or 'DocumentReference/y'
    resource: dict
    modality: str | None  # us | ct | mr | None (not said)
    title: str  # the name a clinician recognises ("US RETROPERITONEAL COMPLETE")
    date: str  # ISO date(-time); '' when undated or dated in the future
    status: str
    study: frozenset[str]  # what identifies the study it reports: ImagingStudy refs, accession identifiers
    addenda: list[dict] = field(default_factory=list)  # DocumentReferences that append to it
    exam: str = ""  # the exam its text names at its head ("EXAM: OB US 2ND TRIMESTER")

    @property
    def kind(self) -> str:
        return self.ref.split("/", 1)[0]

    def text(self, binaries: dict, limit: int) -> str:
        """The report's words, its addenda after them under an ADDENDUM title (read as such)."""
        text = report_text(self.resource, binaries, limit, _attachments(self.resource))
        for addendum in self.addenda:
            words = report_text(addendum, binaries, limit, _attachments(addendum))
            if words:
                text += "\n\nADDENDUM:\n" + words
        return text


def _attachments(resource: dict) -> list[dict]:
    if resource.get("resourceType") == "DocumentReference":
        return [
            c["attachment"]
            for c in resource.get("content") or ()
            if isinstance(c, dict) and isinstance(c.get("attachment"), dict)
        ]
    return [a for a in resource.get("presentedForm") or () if isinstance(a, dict)]


def binary_urls(resource: dict) -> list[str]:
    """Attachment urls that carry no inline data (to be fetched as Binary resources)."""
    return [
        a["url"] for a in _attachments(resource) if not isinstance(a.get("data"), str) and isinstance(a.get("url"), str)
    ]


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def raw_date(resource: dict) -> str:
    """The clinically relevant date of a report as sent: when the study was done, else issued."""
    if resource.get("resourceType") == "DocumentReference":
        context = _object(resource.get("context"))
        value = _object(context.get("period")).get("start") or resource.get("date") or ""
    else:
        value = resource.get("effectiveDateTime") or ""
        if not value and isinstance(resource.get("effectivePeriod"), dict):
            value = resource["effectivePeriod"].get("start") or ""
        value = value or resource.get("issued") or ""
    return value if isinstance(value, str) else ""


def sane_date(value: str, now: datetime) -> str:
    """The date, or '' when it lies after `now` (plus a day): a future date is a typing error, and
    would otherwise make the report the newest of all."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if len(value) > 10 else value[:10])
    except ValueError:
        return value  # not a date a parser takes: compared as text, as before
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now + FUTURE_SLACK:
        return ""
    return value


def _status(resource: dict) -> str:
    if resource.get("resourceType") == "DocumentReference":
        if resource.get("status") in ("entered-in-error", "superseded"):
            return "entered-in-error"
        doc_status = resource.get("docStatus")
        return doc_status if isinstance(doc_status, str) else "final"
    status = resource.get("status")
    return status if isinstance(status, str) else ""


def _study_keys(resource: dict) -> frozenset[str]:
    keys = set(ref_keys(resource.get("imagingStudy")))
    context = _object(resource.get("context"))
    keys |= {k for k in ref_keys(context.get("related")) if k.startswith("ImagingStudy/")}
    for ident in resource.get("identifier") or ():
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"].strip():
            keys.add(f"accession:{ident.get('system') or ''}|{ident['value'].strip()}")
    for based in resource.get("basedOn") or ():
        ident = based.get("identifier") if isinstance(based, dict) else None
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            keys.add(f"accession:{ident.get('system') or ''}|{ident['value'].strip()}")
    return frozenset(keys)


def _title(resource: dict) -> str:
    if resource.get("resourceType") == "DocumentReference":
        for attachment in _attachments(resource):
            if isinstance(attachment.get("title"), str) and attachment["title"].strip():
                return attachment["title"].strip()
        description = resource.get("description")
        if isinstance(description, str) and description.strip():
            return description.strip()
        return concept_text(resource.get("type"))
    return concept_text(resource.get("code"))


def kind_codes(resource: dict) -> list:
    if resource.get("resourceType") == "DocumentReference":
        return [resource.get("type"), *(resource.get("category") or ())]
    return [resource.get("code")]


def modality(resource: dict, kb: Knowledge, studies: dict[str, set[str]], words: str = "") -> str | None:
    """us / ct / mr from the report's codes, the study it reports, or the words of its title."""
    codes = kind_codes(resource)
    if any(kb.value_set("ultrasound-region-procedure").first(c) for c in codes if c):
        return "us"
    for code in codes:
        found = modality_of(classify_concept(code, kb), kb) if code else None
        if found in ("ct", "mr"):
            return found
    linked = set().union(*(studies.get(k, set()) for k in _study_keys(resource))) if studies else set()
    for name in ("us", "ct", "mr", "xr"):
        if name in linked:
            return name
    return modality_from_words(words or _title(resource), kb)


def modality_from_words(text: str, kb: Knowledge) -> str | None:
    if not text:
        return None
    if kb.concepts["radiograph"].found(text):
        return "xr"
    if kb.concepts["ultrasound"].found(text):
        return "us"
    found = modality_of(classify_concept({"text": text}, kb), kb)
    return found if found in ("ct", "mr") else None


def exam_line(text: str) -> str:
    """The exam a report's text names at its head: an "EXAM:" line, else its first line (not any
    mention: "Ultrasound or CT suggested" in the impression is advice)."""
    head = text[:HEADER_CHARS]
    labelled = _EXAM_LINE.search(head)
    return labelled.group(1) if labelled else next((line for line in head.split("\n") if line.strip()), "")


def is_imaging(resource: dict, kb: Knowledge, has_modality: bool) -> bool:
    """A report of imaging (not a lab panel, not a progress note): it names a modality, reports a
    study, or carries an imaging document code or category."""
    if has_modality or any(k.startswith("ImagingStudy/") for k in _study_keys(resource)):
        return True
    return any(kb.value_set("imaging-report-document").first(c) for c in kind_codes(resource) if c)


def _superseded(resources: list[dict]) -> tuple[set[str], dict[str, list[dict]]]:
    """DocumentReference links: refs replaced by another document, and addenda per target ref."""
    replaced: set[str] = set()
    addenda: dict[str, list[dict]] = {}
    for resource in resources:
        if resource.get("resourceType") != "DocumentReference":
            continue
        for link in resource.get("relatesTo") or ():
            if not isinstance(link, dict):
                continue
            target = ref_key((link.get("target") or {}).get("reference"))
            if not target:
                continue
            if link.get("code") == "replaces":
                replaced.add(target)
            elif link.get("code") == "appends":
                addenda.setdefault(target, []).append(resource)
    return replaced, addenda


def _latest_versions(docs: list[Document]) -> list[Document]:
    """Of the documents that report one study, the one that speaks: highest rank, then newest."""
    kept: list[Document] = []
    for doc in sorted(docs, key=lambda d: (RANK.get(d.status, 0), _issued(d.resource)), reverse=True):
        if doc.study and any(doc.study & k.study for k in kept):
            continue
        kept.append(doc)
    return kept


def _issued(resource: dict) -> str:
    value = resource.get("issued") or resource.get("date") or raw_date(resource)
    return value if isinstance(value, str) else ""


def study_modalities(record, kb: Knowledge) -> dict[str, set[str]]:
    """'ImagingStudy/x' -> its modalities (us / ct / mr), from DICOM modality codes, procedure codes
    or the description: some EHRs code an ultrasound only by its CPT/LOINC procedure or its name."""
    found: dict[str, set[str]] = {}
    us_codes = kb.value_set("ultrasound-region-procedure")
    for study in record.of_type("ImagingStudy"):
        names = modalities(study, kb)
        if not names:
            if us_codes.first(study.get("procedureCode") or []):
                names = {"us"}
            else:
                guess = modality_from_words(study_text(study), kb)
                names = {guess} if guess else set()
        found[f"ImagingStudy/{study.get('id')}"] = names
    return found


def documents(record, kb: Knowledge, now: datetime) -> list[Document]:
    """Every imaging report of the chart that still speaks, newest first (undated last). A report
    whose codes and title name no modality is placed by the exam its text names first."""
    resources = [
        r for rtype in ("DiagnosticReport", "DocumentReference") for r in record.of_type(rtype) if isinstance(r, dict)
    ]
    replaced, addenda = _superseded(resources)
    appended = {id(a) for items in addenda.values() for a in items}
    studies = study_modalities(record, kb) if record.of_type("ImagingStudy") else {}
    docs: list[Document] = []
    for resource in resources:
        ref = f"{resource.get('resourceType')}/{resource.get('id')}"
        status = _status(resource)
        if status in SILENT or ref in replaced or id(resource) in appended:
            continue
        found = modality(resource, kb, studies)
        if not is_imaging(resource, kb, found is not None):
            continue
        exam = exam_line(report_text(resource, record.binaries, HEADER_CHARS, _attachments(resource)))
        if found is None:
            found = modality_from_words(exam, kb)
        date = sane_date(raw_date(resource), now)
        docs.append(
            Document(
                ref=ref,
                resource=resource,
                modality=found,
                title=_title(resource),
                date=date,
                status=status,
                study=_study_keys(resource),
                addenda=addenda.get(ref, []),
                exam=exam,
            )
        )
    docs = _latest_versions(docs)
    docs.sort(key=lambda d: d.date, reverse=True)
    return docs
