"""Stage 3: every declared prefetch key ends up with data, an authoritative "none", or a 412.

Per key (CDS Hooks 2.0 §Prefetch Template): a resource or non-empty Bundle is used; `null` or an
empty Bundle means "queried, nothing found"; an absent key, an OperationOutcome, or a Bundle that
carries an error outcome is fetched from `fhirServer`. Pages behind `next` links are fetched too,
because advice computed on half a chart (say, missing the CT on page two) is worse than none.
All fetches for a request run concurrently under one deadline.

Keys listed in the service's `optionalPrefetch` are ones the decision can do without (allergies
only change a note on the card): when one can be obtained neither way the answer degrades (the
engine sees no data, exchange.notes["unavailable"] names it, the card says it could not be
checked) instead of a 412. An essential key that cannot be obtained is still a 412.
"""

from __future__ import annotations

import time
from functools import partial

from ..errors import CdsError
from ..fhir.client import FetchFailed
from ..fhir.templates import Unresolvable, expand
from .exchange import Exchange

MISSING = object()


class Malformed(ValueError):
    """A prefetch value claims to be a Bundle but is not shaped like one (a client error)."""


def _is_error_outcome(resource: dict) -> bool:
    if resource.get("resourceType") != "OperationOutcome":
        return False
    issues = resource.get("issue")
    if not isinstance(issues, list) or not issues:
        return True
    return any(isinstance(issue, dict) and issue.get("severity") in ("error", "fatal") for issue in issues)


def _bundle_state(bundle: dict) -> str:
    """'fetch' (carries an error outcome), 'paged', 'use' or 'none', checking the Bundle's shape
    in the same single pass: every entry an object whose resource is an object, every link too."""
    entries, links = bundle.get("entry") or [], bundle.get("link") or []
    if not isinstance(entries, list) or not isinstance(links, list):
        raise Malformed("entry and link must be arrays")
    failed = False
    for entry in entries:
        resource = entry.get("resource", {}) if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise Malformed("every entry must be an object whose resource is an object")
        if resource.get("resourceType") == "OperationOutcome" and _is_error_outcome(resource):
            failed = True
    if not all(isinstance(link, dict) for link in links):
        raise Malformed("every link must be an object")
    if failed:
        return "fetch"
    if any(link.get("relation") == "next" for link in links):
        return "paged"
    return "use" if entries else "none"


def classify(value) -> str:
    """'none' (authoritative no data), 'use', 'paged' (use after following next), or 'fetch'.

    Raises Malformed for a Bundle that is not shaped like one."""
    if value is MISSING:
        return "fetch"
    if value is None:
        return "none"
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        return "fetch"
    return _bundle_state(value) if kind == "Bundle" else "use"


def _checked_state(key: str, value) -> str:
    """classify(value), or the 400 that names the key of a malformed Bundle."""
    try:
        return classify(value)
    except Malformed as exc:
        raise CdsError(
            400, f"prefetch.{key}: not a valid FHIR Bundle: {exc}", log_detail=f"malformed prefetch {key}"
        ) from None


def run(exchange: Exchange, runtime) -> None:
    body = exchange.body
    given = body.get("prefetch") or {}
    if not exchange.chart_needed:  # no draft the chart could change (scope stage): shapes checked, nothing fetched
        for key in exchange.service.prefetch:
            _checked_state(key, given.get(key, MISSING))
        exchange.prefetch = {}
        return
    base = body.get("fhirServer")
    token = (body.get("fhirAuthorization") or {}).get("access_token")
    if base and not runtime.may_contact(exchange.client, base, warn=False):
        base = None  # behave as if no server was named; warned about below only if a fetch was needed
        exchange.notes["fhirServer"] = "refused"

    resolved: dict = {}
    pending: dict = {}  # key -> (method, first argument)
    unobtainable: list[str] = []
    for key, template in exchange.service.prefetch.items():
        value = given.get(key, MISSING)
        state = _checked_state(key, value)
        if state in ("use", "none"):
            resolved[key] = value if state == "use" else None
        elif base is None:
            unobtainable.append(key)
        elif state == "paged":
            pending[key] = (runtime.fhir.complete_pages, value)
        else:
            try:
                pending[key] = (runtime.fhir.read, expand(template, exchange.context))
            except Unresolvable:
                unobtainable.append(key)

    optional = exchange.service.optional_prefetch
    if exchange.notes.get("fhirServer") == "refused" and unobtainable:
        runtime.warn_unregistered_fhir_server(exchange.client)
    if pending and not [key for key in unobtainable if key not in optional]:
        deadline = time.monotonic() + runtime.settings.fhir_deadline_s
        jobs = {key: partial(method, arg, base, token, deadline) for key, (method, arg) in pending.items()}
        failures = {}
        for key, result in runtime.fhir.gather(jobs, deadline, base).items():
            if isinstance(result, FetchFailed):
                failures[key] = result.reason
            else:
                resolved[key] = result.resource
                if result.truncated:
                    exchange.notes.setdefault("truncated", []).append(key)
        exchange.notes["fetched"] = sorted(pending)
        if failures:
            exchange.notes["fetchFailures"] = failures
            unobtainable.extend(failures)

    unavailable = sorted(key for key in set(unobtainable) if key in optional)
    if unavailable:
        exchange.notes["unavailable"] = unavailable  # the request log counts what could not be checked
        for key in unavailable:
            resolved[key] = None
    essential = sorted(key for key in set(unobtainable) if key not in optional)
    if essential:
        keys = essential
        why = "no usable fhirServer" if base is None else "the FHIR server did not return them"
        raise CdsError(
            412,
            f"required prefetch data is missing and could not be fetched ({why}): {', '.join(keys)}",
            keys=keys,
            log_detail=f"missing prefetch ({why}): {', '.join(keys)}",
        )
    exchange.prefetch = resolved
