"""Stage 4: the prefetch becomes an indexed record of this patient's resources.

Indexing is cheap dict work; the full fhir.resources (R4B) model is built only for the few
resources a later stage asks about (`record.valid`), so a 10,000-resource prefetch costs one
pass over plain dicts, not 10,000 model validations. Resources about another patient are
dropped here, whatever the client sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ..fhir import quick_check
from . import attachments
from .digest_cache import DigestCache, digest
from .exchange import Exchange

log = logging.getLogger("cds_service.parse")


_VALIDITY = DigestCache(max_bytes=2 * 1024 * 1024)


def _valid_r4(resource: dict, raw: bytes) -> bool:
    """Whether one resource (`raw` is its JSON) is valid R4 (fhir.resources R4B), remembered per process.

    The same resources come back call after call (order-select fires on every change of the
    order form); the memo is keyed by a digest of the JSON, never the JSON itself, and bounded to
    2 MiB (about 12,000 answers). A new resource is first offered to the quick check (a seventh
    of the cost or less); fhir.resources decides whatever that check does not vouch for."""
    key = digest(raw)
    known = _VALIDITY.get(key)
    if known is not None:
        return known
    ok = bool(quick_check.vouch(resource)) or full_r4(orjson.loads(raw))  # a copy: the engine's dict stays as sent
    _VALIDITY.put(key, ok)
    return ok


def full_r4(resource: dict) -> bool:
    """fhir.resources' own verdict on one resource."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        return True
    except (KeyError, ValueError, ValidationError, RecursionError):  # deep nesting trips fhir.resources
        return False


def subject_id(resource: dict) -> str | None:
    """The Patient id a resource is about (subject in R4, patient in DSTU2/AllergyIntolerance)."""
    ref = resource.get("subject") or resource.get("patient")
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    if not isinstance(text, str) or "Patient/" not in text:
        return None
    tail = text.rsplit("Patient/", 1)[1]
    return tail.split("/_history/", 1)[0] or None


def resources_of(value) -> list[dict]:
    """A prefetch value as a list of resources: a Bundle's entries, or the resource itself."""
    if value is None:
        return []
    if value.get("resourceType") == "Bundle":
        return [
            e["resource"]
            for e in value.get("entry") or ()
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    return [value]


@dataclass
class PatientRecord:
    patient_id: str
    patient: dict | None = None
    by_type: dict[str, list[dict]] = field(default_factory=dict)
    drafts: list[dict] = field(default_factory=list)  # every draft order in context.draftOrders
    judged: list[dict] = field(default_factory=list)  # the drafts this service judges
    invalid: int = 0
    binaries: dict[str, dict] = field(default_factory=dict)  # 'Binary/id' -> fetched report attachment
    _checked: dict = field(default_factory=dict, repr=False)
    _by_ref: dict | None = field(default=None, repr=False)

    def of_type(self, resource_type: str) -> list[dict]:
        return self.by_type.get(resource_type, [])

    def find(self, ref: str) -> dict | None:
        """This record's resource 'Type/id'. The index is built on first use: most calls never
        look a resource up by reference, and for 10,000 resources it costs milliseconds."""
        if self._by_ref is None:
            self._by_ref = {
                f"{rtype}/{r['id']}": r
                for rtype, items in self.by_type.items()
                for r in items
                if isinstance(r.get("id"), str)
            }
        return self._by_ref.get(ref)

    def valid(self, resource: dict) -> bool:
        """Whether `resource` is valid R4 (fhir.resources R4B); invalid ones are counted and skipped."""
        key = id(resource)
        if key not in self._checked:
            try:
                ok = _valid_r4(resource, orjson.dumps(resource, option=orjson.OPT_SORT_KEYS))
            except TypeError:  # not JSON-serialisable: cannot be valid FHIR
                ok = False
            self._checked[key] = ok
            self.invalid += not ok
        return self._checked[key]

    def keep_valid(self) -> int:
        """Drop every resource and draft that is not valid R4; returns how many were dropped.

        The engine reads plain dicts before validating (that is what keeps it fast), so a
        resource with a list where an object belongs can trip it; this is the slow, safe retry.
        """
        before = sum(map(len, self.by_type.values())) + len(self.drafts)
        self.by_type = {t: [r for r in items if self.valid(r)] for t, items in self.by_type.items()}
        self._by_ref = None
        if self.patient is not None and not self.valid(self.patient):
            self.patient = None
        self.drafts = [d for d in self.drafts if self.valid(d)]
        self.judged = [d for d in self.judged if self.valid(d)]
        return before - sum(map(len, self.by_type.values())) - len(self.drafts)


def run(exchange: Exchange, runtime) -> None:
    patient_id = exchange.context["patientId"]
    relative = f"Patient/{patient_id}"  # the usual form, compared before the general parse
    record = PatientRecord(patient_id=patient_id)
    by_type = record.by_type
    dropped = 0
    for value in exchange.prefetch.values():
        for resource in resources_of(value):
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str):
                continue
            if rtype == "Patient":
                if resource.get("id") != patient_id:
                    dropped += 1
                    continue
                record.patient = resource
            else:
                ref = resource.get("subject") or resource.get("patient")
                if (
                    not (isinstance(ref, dict) and ref.get("reference") == relative)
                    and subject_id(resource) != patient_id
                ):
                    dropped += 1
                    continue
            bucket = by_type.get(rtype)
            if bucket is None:  # not setdefault: that builds an empty list for every resource
                bucket = by_type[rtype] = []
            bucket.append(resource)
    record.drafts, record.judged = exchange.drafts, exchange.judged
    exchange.record = record
    attachments.fetch(exchange, runtime, record)
    exchange.notes["resources"] = sum(len(v) for v in record.by_type.values())
    if dropped:
        exchange.notes["otherPatientDropped"] = dropped
