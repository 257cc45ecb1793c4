"""Coded-value matching over plain FHIR dicts.

Matching works on the raw JSON (no model building) so that a large prefetch can be scanned
cheaply; systems are normalised through the aliases in valuesets.json because the same
terminology arrives under an http URI from one EHR and an OID from another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def codings(value) -> Iterator[dict]:
    """Every Coding inside a CodeableConcept, a Coding, or a list of either."""
    if isinstance(value, list):
        for item in value:
            yield from codings(item)
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or ():
                if isinstance(coding, dict):
                    yield coding
        elif "code" in value or "system" in value:
            yield value


def concept_text(value) -> str:
    """The human words of a CodeableConcept (or list): its text plus the codings' displays."""
    parts: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("text"), str):
            parts.append(item["text"])
        for coding in codings(item):
            if isinstance(coding.get("display"), str):
                parts.append(coding["display"])
    return " . ".join(parts)


class CodeSet:
    """A value set as a dict keyed by (canonical system, code); entries keep their attributes."""

    def __init__(self, entries: Iterable[dict], aliases: dict[str, str]):
        self._aliases = aliases
        self._entries: dict[tuple[str, str], dict] = {}
        for entry in entries:
            self._entries[(self.canonical(entry["system"]), entry["code"])] = entry

    def canonical(self, system: str) -> str:
        return self._aliases.get(system, system)

    def keys(self) -> set[tuple[str, str]]:
        return set(self._entries)

    def lookup(self, coding: dict) -> dict | None:
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return None
        return self._entries.get((self.canonical(system), code.strip()))

    def first(self, value) -> dict | None:
        """The first entry matched by any coding in `value` (CodeableConcept, Coding or lists)."""
        for coding in codings(value):
            entry = self.lookup(coding)
            if entry is not None:
                return entry
        return None

    def __contains__(self, value) -> bool:
        return self.first(value) is not None


def ref_key(reference) -> str | None:
    """'Type/id' for a Reference (or reference string), whether relative, absolute or versioned."""
    text = reference.get("reference") if isinstance(reference, dict) else reference
    if not isinstance(text, str):
        return None
    parts = text.split("/_history/", 1)[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def ref_keys(references) -> set[str]:
    """The 'Type/id' keys of a list of References."""
    keys = set()
    for reference in references or ():
        key = ref_key(reference)
        if key:
            keys.add(key)
    return keys
