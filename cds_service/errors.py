"""One error type for every refusal, rendered as the same JSON shape whatever the status.

The body carries a short message, the request id (so a caller can quote it to us) and an
OperationOutcome (what CDS Hooks 3.0 asks for on non-2xx answers). Internals never reach it.
"""

from __future__ import annotations

from collections.abc import Sequence

# HTTP status -> (error slug, OperationOutcome issue code)
_KINDS = {
    400: ("bad_request", "invalid"),
    401: ("unauthorized", "login"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "not-found"),
    405: ("method_not_allowed", "not-supported"),
    408: ("request_timeout", "timeout"),
    412: ("precondition_failed", "incomplete"),
    413: ("payload_too_large", "too-long"),
    414: ("uri_too_long", "too-long"),
    415: ("unsupported_media_type", "not-supported"),
    417: ("expectation_failed", "not-supported"),
    431: ("headers_too_large", "too-long"),
    500: ("internal_error", "exception"),
    501: ("not_implemented", "not-supported"),
    503: ("unavailable", "transient"),
}


class CdsError(Exception):
    """A refusal with an HTTP status; `message` is safe to show to the caller."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        keys: Sequence[str] = (),
        headers: dict | None = None,
        log_detail: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.keys = tuple(keys)
        self.headers = headers or {}
        # What the log may say about the cause; never a value from the request (ids, tokens).
        self.log_detail = log_detail


def error_body(status: int, message: str, request_id: str, keys: Sequence[str] = ()) -> dict:
    slug, issue_code = _KINDS.get(status, ("error", "processing"))
    issues = [{"severity": "error", "code": issue_code, "details": {"text": message}}]
    for key in keys:
        issues.append(
            {
                "severity": "error",
                "code": issue_code,
                "details": {"text": f"prefetch key '{key}' could not be obtained"},
                "expression": [f"prefetch.{key}"],
            }
        )
    body = {
        "error": slug,
        "message": message,
        "requestId": request_id,
        "outcome": {"resourceType": "OperationOutcome", "issue": issues},
    }
    if keys:
        body["missingPrefetch"] = list(keys)
    return body
