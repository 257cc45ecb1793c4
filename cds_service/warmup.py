"""What a served worker builds before its first call, so no patient's call pays for it.

Three things are built on first use and cost far more than a call: the medspaCy pipeline that reads
report narratives (about 1 s), the quick R4 check's plans with the fhir.resources model classes
they import (about 0.1 s), and the metrics (importing prometheus_client, 13 ms). Measured in-process on a new app: the first coded call took
56 ms and the first call with narratives 968 ms, against 2 and 5 ms for the next ones. A worker
that starts (deploy, restart, a replaced worker) would hand that wait to the first clinicians.

Nothing here goes through the request pipeline: no card is recorded, no metric counted (they are
only defined), no cache entry made for a patient. The resource types are the ones the services' prefetch templates
name, plus the draft orders'.
"""

from __future__ import annotations

import logging
import time

from . import metrics
from .fhir import quick_check
from .fhir.templates import resource_type

log = logging.getLogger("cds_service.warmup")
DRAFT_TYPES = ("ServiceRequest",)
SAMPLE = "FINDINGS:\nLeft kidney: a 4 cm solid mass with internal calcification. No hydronephrosis."


def resource_types(services) -> list[str]:
    """The resource types the services' prefetch templates ask for, and the draft orders' types."""
    named = {resource_type(template) for service in services.values() for template in service.prefetch.values()}
    return sorted(named | set(DRAFT_TYPES))


def warm(runtime) -> dict:
    """Build everything a first call would build; returns what was built, with the time it took."""
    started = time.perf_counter()
    types = resource_types(runtime.content.services)
    models = sum(quick_check.prepare(t) for t in types)
    runtime.knowledge.reader.warm(SAMPLE)
    metrics.define()
    done = {"resourceTypes": len(types), "modelPlans": models, "ms": round((time.perf_counter() - started) * 1000)}
    log.info("worker warmed up", extra=done)
    return done
