"""Bounds on full R4 validation, so a pathological chart cannot make a request slow.

Candidates are chosen from plain dicts; only they are validated with fhir.resources, most
relevant first, and only as many as a card can use. A chart with 2,000 "abdominal mass"
Conditions costs a handful of validations, not 2,000.
"""

from __future__ import annotations

MAX_MASSES = 5
MAX_IMAGING = 10  # per kind: ultrasound studies, ultrasound reports, CT/MR, orders
MAX_FINDINGS = 6  # calcification findings; one is enough to decide, a few are shown


def validated(record, candidates, limit: int) -> list:
    """The first `limit` candidates (in the order given) whose R4 model is valid."""
    kept = []
    for candidate in candidates:
        if record.valid(candidate):
            kept.append(candidate)
            if len(kept) >= limit:
                break
    return kept
