"""Stage 2: the body is JSON, an object, a CDS Hooks 2.0 request for this service's hook.

Unknown members are ignored (CDS Hooks §Extensions); anything missing or mistyped is a 400 that
names the first offending member, so an integrator can fix the call without reading our logs.
Later stages see only what was checked here: the context keeps just the members the hook's
context schema defines (a patient-view call's stray `draftOrders`, whatever its type, is ignored
like any other unknown member), nested no deeper than MAX_CONTEXT_DEPTH, and `fhirServer` is a
URL that parses. Refusing costs no more than the schema's size caps (maxItems, maxLength...).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from ..errors import CdsError
from ..explain import most_relevant
from .exchange import Exchange

# Real FHIR resources nest a few dozen levels at most; deeper JSON is an attack on every
# recursive reader after us (fhir.resources, jsonschema, deepcopy, the response encoder).
MAX_CONTEXT_DEPTH = 64
MAX_PREFETCH_KEYS = 64  # the same cap as the request schema's prefetch maxProperties


def check(schemas, name: str, document, prefix: str) -> None:
    """Raise a 400 for the most relevant schema violation. The log gets the path, not the value.

    The compiled validator answers valid requests; only a refusal pays for an explanation, and
    that explanation is bounded by the schema's caps, not by the size of the input."""
    if schemas.accepts(name, document):
        return
    error = most_relevant(schemas.explainer(name), document)
    if error is None:
        return
    path = ".".join(str(p) for p in error.absolute_path)
    where = ".".join(filter(None, (prefix, path))) or "request"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    raise CdsError(400, f"{where}: {message}", log_detail=f"schema {error.validator} at {where}")


def shallow(body: dict) -> dict:
    """The request with each prefetch value cut down to what the schema checks (null, or an object
    and its resourceType). jsonschema otherwise walks every prefetched resource: 55 ms for 10,000."""
    prefetch = body.get("prefetch")
    if not isinstance(prefetch, dict) or len(prefetch) > MAX_PREFETCH_KEYS:
        return body  # the schema refuses it (maxProperties) before looking at any value
    cut = {
        key: ({"resourceType": value.get("resourceType")} if "resourceType" in value else {})
        if isinstance(value, dict)
        else value
        for key, value in prefetch.items()
    }
    return {**body, "prefetch": cut}


def json_object(raw: bytes) -> dict:
    """The body as a JSON object, or a 400 (service calls and feedback alike)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CdsError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise CdsError(400, "request body must be a JSON object")
    return body


def nested_within(value, limit: int) -> bool:
    """Whether `value` nests objects and arrays no deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return False
                stack.append((child, depth + 1))
    return True


def fhir_server_ok(url: str) -> bool:
    """An absolute http(s) URL with a host, a valid port and no credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.username
        and not parts.password
        and not parts.query
        and not parts.fragment
    )


def declared_context(context: dict, schema: dict) -> dict:
    """The context members the hook defines; the rest (unknown, never read) is dropped."""
    defined = schema.get("properties", {})
    return {key: value for key, value in context.items() if key in defined}


def run(exchange: Exchange, runtime) -> None:
    body = json_object(exchange.raw_body)
    schemas = runtime.content.schemas
    check(schemas, "request.schema.json", shallow(body), "")
    service = exchange.service
    if body["hook"] != service.hook:
        raise CdsError(
            400,
            f"hook '{body['hook'][:64]}' does not match service '{service.id}' ({service.hook})",
            log_detail="hook mismatch",
        )
    context_schema = f"context/{service.hook}.schema.json"
    context = declared_context(body["context"], schemas.document(context_schema))
    check(schemas, context_schema, context, "context")
    if not nested_within(context, MAX_CONTEXT_DEPTH):
        raise CdsError(400, f"context: nested deeper than {MAX_CONTEXT_DEPTH} levels", log_detail="context too deep")
    if "fhirServer" in body and not fhir_server_ok(body["fhirServer"]):
        raise CdsError(
            400,
            "fhirServer: not an absolute http(s) URL with a valid host and port",
            log_detail="fhirServer unparseable",
        )
    exchange.body = {**body, "context": context}
