"""Part of stage 4: report attachments given only as a `url` are fetched here, before the engine.

Imaging reports often carry their text as `presentedForm.url` (DiagnosticReport) or
`content.attachment.url` (DocumentReference) pointing at a Binary on the EHR's FHIR server. Fetching belongs with the other reads (prefetch, parse), not in the evidence stage,
so the engine stays a pure function of the record. Only candidate imaging reports are considered,
newest first, at most MAX_BINARIES per request, on the request's server only, with its bearer
token, within the FHIR deadline; anything else is skipped and counted in the request log.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from ..clinical.codes import ref_key
from ..clinical.reading.document import SILENT, binary_urls, is_imaging, modality, raw_date, study_modalities
from ..fhir.client import FetchFailed, same_server
from .exchange import SHAPE_ERRORS

log = logging.getLogger("cds_service.attachments")
MAX_BINARIES = 10


def _candidate(report: dict, kb, studies) -> bool:
    try:
        return (
            report.get("status") not in SILENT
            and bool(binary_urls(report))
            and is_imaging(report, kb, modality(report, kb, studies) is not None)
        )
    except SHAPE_ERRORS:  # not validated yet: a malformed report is simply not fetched for
        return False


def wanted(record, kb) -> list[str]:
    """Binary urls of candidate imaging reports, newest report first, de-duplicated."""
    try:
        studies = study_modalities(record, kb) if record.of_type("ImagingStudy") else {}
    except SHAPE_ERRORS:
        studies = {}
    reports = [
        r
        for rtype in ("DiagnosticReport", "DocumentReference")
        for r in record.of_type(rtype)
        if _candidate(r, kb, studies)
    ]
    reports.sort(key=raw_date, reverse=True)
    urls: dict[str, str] = {}
    for report in reports:
        for url in binary_urls(report):
            key = ref_key(url)
            if key and key.startswith("Binary/"):
                urls.setdefault(key, url)
    return list(urls.values())


def fetch(exchange, runtime, record) -> None:
    if runtime is None:  # parsing on its own (unit tests): nothing to fetch with
        return
    urls = wanted(record, runtime.knowledge)
    if not urls:
        return
    body = exchange.body
    base = body.get("fhirServer")
    token = (body.get("fhirAuthorization") or {}).get("access_token")
    if not isinstance(base, str) or not runtime.may_contact(exchange.client, base):
        exchange.notes["binariesSkipped"] = len(urls)
        log.info("report attachments not fetched: no usable fhirServer", extra={"count": len(urls)})
        return
    usable = [u for u in urls if not u.startswith(("http://", "https://")) or same_server(u, base)]
    skipped = len(urls) - len(usable[:MAX_BINARIES])
    deadline = time.monotonic() + runtime.settings.fhir_deadline_s
    jobs = {ref_key(url): partial(runtime.fhir.binary, url, base, token, deadline) for url in usable[:MAX_BINARIES]}
    for key, result in runtime.fhir.gather(jobs, deadline).items():
        if isinstance(result, FetchFailed):
            skipped += 1
            exchange.notes.setdefault("binaryFailures", []).append(result.reason)
        else:
            record.binaries[key] = result.resource
    exchange.notes["binariesFetched"] = len(record.binaries)
    if skipped:
        exchange.notes["binariesSkipped"] = skipped
        log.info("some report attachments were not fetched", extra={"count": skipped})
