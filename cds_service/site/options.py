"""Per-call configuration: what discovery advertises and what a request's extension may set.

Modelled on Da Vinci CRD's configuration options, under our own namespace: each service entry
in discovery carries `extension["flank-mass-cds.configuration-options"]` (code, type, name,
description, default) and a request may send `extension["flank-mass-cds.configuration"]`
{code: value}. Only the options the site file allows are advertised and accepted; anything
else is a 400 that names the option, never silently ignored.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import CdsError

OPTIONS_EXTENSION = "flank-mass-cds.configuration-options"
CONFIG_EXTENSION = "flank-mass-cds.configuration"
OPTIONS: dict[str, dict[str, Any]] = {
    "max-cards": {
        "type": "integer",
        "name": "Maximum cards",
        "description": "Return at most this many cards (most urgent first); cannot exceed the site's own cap.",
    },
    "info-cards": {
        "type": "boolean",
        "name": "Informational cards",
        "description": "false: return only warning and critical cards.",
        "default": True,
    },
    "suppress-repeats": {
        "type": "boolean",
        "name": "Suppress repeated alerts",
        "description": "false: show a card again even after a clinician overrode it with a reason.",
        "default": True,
    },
}
DEFAULT_MAX_CARDS = 10


def advertised(allowed, doc: dict) -> list[dict]:
    cap = doc.get("maxCardsPerResponse") or DEFAULT_MAX_CARDS
    out = []
    for code in allowed:
        spec = {"code": code, **OPTIONS[code]}
        if code == "max-cards":
            spec["default"] = cap
        out.append(spec)
    return out


def discovery_document(services: dict, allowed, doc: dict) -> bytes:
    options = advertised(allowed, doc)
    entries = []
    for service in services.values():
        entry = dict(service.discovery)
        if options:
            entry["extension"] = {**(entry.get("extension") or {}), OPTIONS_EXTENSION: options}
        entries.append(entry)
    return orjson.dumps({"services": entries})


def _bad(code: str, message: str) -> CdsError:
    return CdsError(
        400, f"extension.{CONFIG_EXTENSION}.{code}: {message}", log_detail=f"per-call option {code[:40]!r}: {message}"
    )


def parse(body: dict, site) -> dict:
    """The per-call options of this request, checked against what the site allows."""
    extension = body.get("extension") or {}
    config = extension.get(CONFIG_EXTENSION) if isinstance(extension, dict) else None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise CdsError(400, f"extension.{CONFIG_EXTENSION}: must be an object of option code to value")
    allowed = site.per_call_options
    options = {}
    for code, value in config.items():
        code_text = str(code)[:64]
        if code not in OPTIONS:
            raise _bad(code_text, f"unknown option; this service accepts {sorted(allowed)}")
        if code not in allowed:
            raise _bad(code_text, "this site does not allow the EHR to set it")
        kind = OPTIONS[code]["type"]
        if kind == "boolean" and not isinstance(value, bool):
            raise _bad(code_text, "must be true or false")
        if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise _bad(code_text, "must be a whole number of at least 1")
        if code == "max-cards" and value > (site.max_cards or DEFAULT_MAX_CARDS):
            raise _bad(code_text, f"at most {site.max_cards or DEFAULT_MAX_CARDS} at this site")
        options[code] = value
    return options
