"""Stage 8: the response obeys CDS Hooks 'Use of JSON' whatever the earlier stages produced.

Empty values are pruned at every depth (an `update` action carries the client's own draft, which
may hold `"coding": [{}]`), `cards` is always present, and with CDS_VALIDATE_RESPONSES on the
result is checked against hooks/schemas/response.schema.json; a failure there is our fault (500).
"""

from __future__ import annotations

from ..errors import CdsError
from .exchange import Exchange


def prune(value):
    """Drop null and empty strings, arrays and objects, bottom-up (one pass; 0 and false stay).

    Plain str, dict and list are told apart by `type(...) is` first (most of a response is short
    strings); anything else takes the general isinstance path with the same outcome."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                if item:
                    out[key] = item
            elif kind is dict or kind is list or isinstance(item, (dict, list)):
                item = prune(item)
                if item:
                    out[key] = item
            elif item is not None and item != "":
                out[key] = item
        return out
    if isinstance(value, list):
        kept = []
        for item in value:
            kind = type(item)
            if kind is str:
                if item:
                    kept.append(item)
            elif kind is dict or kind is list or isinstance(item, (dict, list)):
                item = prune(item)
                if item:
                    kept.append(item)
            elif item is not None and item != "":
                kept.append(item)
        return kept
    return value


def run(exchange: Exchange, runtime) -> None:
    response = prune(exchange.response)
    response.setdefault("cards", [])
    if runtime.settings.validate_responses:
        errors = list(runtime.content.schemas.validator("response.schema.json").iter_errors(response))
        if errors:
            raise CdsError(
                500,
                "the service produced an invalid response",
                log_detail=f"response schema: {errors[0].message[:200]}",
            )
    exchange.response = response
