"""Stage 8: the response obeys CDS Hooks 'Use of JSON' whatever the earlier stages produced.

Empty values are pruned at every depth (an `update` action carries the client's own draft, which
may hold `"coding": [{}]`), `cards` is always present, and with CDS_VALIDATE_RESPONSES on the
result is checked against hooks/schemas/response.schema.json; a failure there is our fault (500).
"""
from __future__ import annotations

from ..errors import CdsError
from .exchange import Exchange



def prune(value):
    """Drop null and empty strings, arrays and objects, bottom-up."""
    if isinstance(value, dict):
        cleaned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if not _is_empty(v)}
    if isinstance(value, list):
        cleaned = [prune(v) for v in value]
        return [v for v in cleaned if not _is_empty(v)]
    return value


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def run(exchange: Exchange, runtime) -> None:
    response = prune(exchange.response)
    response.setdefault("cards", [])
    if runtime.settings.validate_responses:
        errors = list(runtime.content.schemas.validator("response.schema.json").iter_errors(response))
        if errors:
            raise CdsError(500, "the service produced an invalid response",
                           log_detail=f"response schema: {errors[0].message[:200]}")
    exchange.response = response
