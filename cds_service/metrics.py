"""Prometheus metrics: every definition, and the one-line recording calls the rest of the code makes.

Why lazy: prometheus_client picks single- or multi-process storage when it is first imported,
from PROMETHEUS_MULTIPROC_DIR. `cds-service serve` sets that directory before gunicorn forks its
workers (`shared_dir`), and nothing imports prometheus_client before then, so each worker
writes its own files and any worker's /metrics adds up all of them.

Labels never carry patient data and stay few: a service id outside the loaded services becomes
"unknown", free-text reasons (JWT refusals, FHIR failures) are reduced to fixed slugs, card kinds
and indicators come from the validated content.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN = "unknown"
# Latency buckets in seconds: the service answers in milliseconds, FHIR callbacks take up to seconds.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ENDPOINTS = {
    "services.invoke": "service",
    "feedback.receive": "feedback",
    "discovery.discovery": "discovery",
    "health.healthz": "health",
    "health.readyz": "readiness",
    "metrics.scrape": "metrics",
    "openapi.description": "openapi",
}

# Log reasons (auth/verify.py `refuse`) -> a fixed slug; the reason text may hold an iss or a kid.
_JWT_REASONS = tuple(
    (re.compile(pattern), slug)
    for pattern, slug in (
        (r"^no Authorization header", "missing"),
        (r"^Authorization is not a Bearer", "not_bearer"),
        (r"^token too long", "too_long"),
        (r"^malformed JWT", "malformed"),
        (r"^alg ", "alg"),
        (r"^typ ", "typ"),
        (r"^no kid", "no_kid"),
        (r"^iss is not", "unknown_issuer"),
        (r"^jku ", "jku"),
        (r"unreachable|unavailable|cannot fetch|could not be fetched", "jwks_unreachable"),
        (r"^no key with this kid", "unknown_kid"),
        (r"^key .* does not fit", "key_alg_mismatch"),
        (r"^claim .* missing", "claim_missing"),
        (r"^token expired", "expired"),
        (r"^token not yet valid", "not_yet_valid"),
        (r"^bad signature", "bad_signature"),
        (r"^aud ", "audience"),
        (r"^jti replayed", "replayed"),
        (r"^jti ", "jti"),
        (r"^iat ", "iat_future"),
        (r"^token lifetime", "lifetime"),
        (r"^tenant ", "tenant"),
        (r"^token rejected", "rejected"),
    )
)
# FetchFailed reasons (fhir/client.py) -> a fixed slug.
_FHIR_REASONS = tuple(
    (re.compile(pattern), slug)
    for pattern, slug in (
        (r"^timeout", "timeout"),
        (r"^deadline", "deadline"),
        (r"^connection", "connection"),
        (r"larger than|passed \d+ bytes", "too_large"),
        (r"too many fetches", "server_busy"),
        (r"^HTTP 4", "http_4xx"),
        (r"^HTTP 5", "http_5xx"),
        (r"^HTTP ", "http_other"),
        (r"not JSON", "not_json"),
        (r"OperationOutcome", "operation_outcome"),
        (r"not a FHIR resource", "not_fhir"),
        (r"next|Bundle", "bad_bundle"),
    )
)

_lock = threading.Lock()
_defined = None


def _slug(text, table) -> str:
    text = str(text)
    return next((slug for pattern, slug in table if pattern.search(text)), "other")


class _Metrics:
    def __init__(self):
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "cds_http_requests_total",
            "HTTP requests answered, by endpoint, CDS service and status",
            ["endpoint", "service", "status"],
        )
        self.request_seconds = Histogram(
            "cds_http_request_duration_seconds",
            "Time to answer, by endpoint and CDS service",
            ["endpoint", "service"],
            buckets=_BUCKETS,
        )
        self.stage_seconds = Histogram(
            "cds_pipeline_stage_duration_seconds",
            "Time spent in each pipeline phase (intake, engine, finish)",
            ["stage"],
            buckets=_BUCKETS,
        )
        self.cards = Counter(
            "cds_cards_total", "Cards issued, by CDS service, card kind and indicator", ["service", "kind", "indicator"]
        )
        self.fhir_fetches = Counter("cds_fhir_fetches_total", "Prefetch keys fetched from the EHR's FHIR server")
        self.fhir_failures = Counter(
            "cds_fhir_fetch_failures_total", "Prefetch keys that could not be fetched, by reason", ["reason"]
        )
        self.jwt_refusals = Counter("cds_jwt_refusals_total", "Client JWTs refused (401), by reason", ["reason"])
        self.ledger_depth = Gauge(
            "cds_ledger_queue_depth", "Issued-card records waiting to be written", multiprocess_mode="livesum"
        )


def _m() -> _Metrics:
    global _defined
    if _defined is None:
        with _lock:
            if _defined is None:
                _defined = _Metrics()
    return _defined


def define() -> None:
    """Define the metrics now rather than on the first call (importing prometheus_client: 13 ms)."""
    _m()


def _service(service_id, known) -> str:
    return service_id if service_id in known else UNKNOWN


# -- recording (one call from each place that knows the fact) ----------------------------------
_children: dict = {}


def _child(metric: str, *labels: str):
    """A labelled child, looked up once per label set (every label comes from a fixed set, so this
    stays small): prometheus_client's `labels` takes a lock and builds a key on every call."""
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, getattr(_m(), metric).labels(*labels))
    return child


def observe_request(endpoint: str | None, service_id: str | None, status, seconds: float, known) -> None:
    """One answered request; `known` holds the loaded service ids (anything else is "unknown")."""
    name = _ENDPOINTS.get(endpoint or "", "other")
    service = _service(service_id, known) if service_id is not None else ""
    _child("requests", name, service, str(status or "none")).inc()
    _child("request_seconds", name, service).observe(max(0.0, seconds))


def observe_stage(stage: str, ms: float) -> None:
    _child("stage_seconds", stage).observe(max(0.0, ms) / 1000)


def count_cards(service_id: str, cards) -> None:
    """Cards issued in one response (audit.ledger.IssuedCard: kind and indicator from the content)."""
    for card in cards:
        _child("cards", service_id, card.kind, card.indicator).inc()


def count_fhir_fetches(results) -> None:
    """Outcomes of one request's FHIR fetches: fhir.client.Fetched, or FetchFailed (has `.reason`)."""
    m = _m()
    for result in results:
        m.fhir_fetches.inc()
        reason = getattr(result, "reason", None)
        if reason is not None:
            m.fhir_failures.labels(_slug(reason, _FHIR_REASONS)).inc()


def count_jwt_refusal(reason: str) -> None:
    _m().jwt_refusals.labels(_slug(reason, _JWT_REASONS)).inc()


def ledger_depth(depth: int) -> None:
    _m().ledger_depth.set(depth)


# -- exposition and the multi-process directory -------------------------------------------------
def exposition() -> tuple[bytes, str]:
    """The text format body and its content type: all workers' values when running multi-process."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _m()  # every metric is listed, even before its first use
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@contextmanager
def shared_dir():
    """For `serve`, before any import of prometheus_client: the directory all workers write to.

    PROMETHEUS_MULTIPROC_DIR when the operator set it (kept); otherwise a fresh temporary one,
    removed on the way out, by the process that made it only (a forked worker unwinding through
    here must not delete it under its siblings).
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        yield given
        return
    path, owner = tempfile.mkdtemp(prefix="cds-metrics-"), os.getpid()
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """gunicorn child_exit hook: a dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
