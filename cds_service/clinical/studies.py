"""What an ImagingStudy says of itself (modality, wording, series sites and side): read both by
the imaging search (clinical/imaging.py) and by the report reader, which links reports to their
studies (clinical/reading/document.py), so it sits below both."""

from __future__ import annotations

from .codes import concept_text
from .knowledge import Knowledge


def modalities(study: dict, kb: Knowledge) -> set[str]:
    """'us' / 'ct' / 'mr' from the study- and series-level modality Codings."""
    index, found = kb.modality_index, set()
    for coding in study.get("modality") or ():
        key = kb.key(coding)
        name = index.get(key) if key is not None else None
        if name:
            found.add(name)
    for series in study.get("series") or ():
        key = kb.key((series or {}).get("modality"))
        name = index.get(key) if key is not None else None
        if name:
            found.add(name)
    return found


def study_text(study: dict) -> str:
    parts = [study.get("description"), concept_text(study.get("procedureCode") or [])]
    parts += [(s or {}).get("description") for s in study.get("series") or ()]
    parts += [(n or {}).get("text") for n in study.get("note") or ()]
    return " . ".join(p for p in parts if isinstance(p, str) and p)


def series_sites(study: dict) -> list:
    return [(s or {}).get("bodySite") for s in study.get("series") or () if (s or {}).get("bodySite")]


def series_side(study: dict, kb: Knowledge) -> str | None:
    for series in study.get("series") or ():
        entry = kb.value_set("laterality").first((series or {}).get("laterality"))
        if entry:
            return entry["side"]
    return None
