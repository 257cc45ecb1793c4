"""Stage 2b: the site configuration this request runs under, and the EHR's per-call options.

One snapshot per request (site.SiteHolder re-reads a changed file at most once per interval),
so every later stage sees the same thresholds, modes and switches. An option the site does not
allow, or a malformed one, is a 400 naming it: before any chart is fetched.
"""

from __future__ import annotations

from ..site import options
from .exchange import Exchange


def run(exchange: Exchange, runtime) -> None:
    exchange.site = runtime.site.current()
    exchange.options = options.parse(exchange.body, exchange.site)
    if exchange.options:
        exchange.notes["options"] = exchange.options
