"""The state one CDS request carries from stage to stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..content import Service


@dataclass
class Exchange:
    service: Service
    raw_body: bytes
    request_id: str
    client: Any = None  # the authenticated CDS client (auth.TrustedClient) or None when auth is off
    body: dict = field(default_factory=dict)
    drafts: list = field(default_factory=list)  # every draft order in context.draftOrders
    judged: list = field(default_factory=list)  # the drafts this service judges
    chart_needed: bool = True  # False when no judged draft's answer can depend on the chart (scope)
    prefetch: dict = field(default_factory=dict)  # key -> resource, or None for "no data"
    record: Any = None  # parse.PatientRecord
    evidence: Any = None  # evidence.Evidence
    decisions: list = field(default_factory=list)  # decide.Decision items
    response: dict = field(default_factory=dict)
    issued: list = field(default_factory=list)  # audit.ledger.IssuedCard per card rendered
    ratings: list = field(default_factory=list)  # audit.ledger.IssuedRating per rated draft
    site: Any = None  # site.config.SiteConfig in force for this request (one snapshot)
    options: dict = field(default_factory=dict)  # per-call configuration from the request's extension
    timings: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # facts for the log line: counts, pages, fetched keys

    @property
    def context(self) -> dict:
        return self.body.get("context", {})


# What plain-dict reading of unvalidated resources can raise: a wrong type, a value no parser takes
# (a date of 2026-13-45), one past a limit (year 9999 plus a day), nesting too deep to recurse into.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError, RecursionError)
