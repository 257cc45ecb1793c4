"""Explaining why a document fails its JSON Schema, at a cost bounded by the schema, not the input.

jsonschema's reference validator explains well but, left alone, pays per element of the input:
it yields one error per bad item of a 1.6-million-item array and writes each offending value into
its message (`[1, 1, 1, ...] is too long`), which took 33 s before a 400. Here size limits
(maxItems, maxLength, maxProperties) are checked before any keyword that descends into items, so
an oversized array is refused without visiting its members; messages never print the value; and
only the first few errors are ever produced.
"""

from __future__ import annotations

import re
from itertools import islice

from jsonschema import Draft7Validator, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import create

MAX_ERRORS = 16  # enough for best_match to prefer the shallowest, most specific problem
_SIZE_FIRST = ("type", "maxItems", "maxLength", "maxProperties")


def _applicable(schema: dict):
    """Draft-07 rules ($ref hides its siblings), with the cheap size checks ahead of the rest."""
    if "$ref" in schema:
        return [("$ref", schema["$ref"])]
    return sorted(schema.items(), key=lambda item: item[0] not in _SIZE_FIRST)


def _max_items(validator, limit, instance, schema):
    if validator.is_type(instance, "array") and len(instance) > limit:
        yield ValidationError(f"has more than {limit} items")


def _max_length(validator, limit, instance, schema):
    if validator.is_type(instance, "string") and len(instance) > limit:
        yield ValidationError(f"is longer than {limit} characters")


def _max_properties(validator, limit, instance, schema):
    if validator.is_type(instance, "object") and len(instance) > limit:
        yield ValidationError(f"has more than {limit} members")


def _type(validator, types, instance, schema):
    types = [types] if isinstance(types, str) else types
    if not any(validator.is_type(instance, kind) for kind in types):
        yield ValidationError(f"is not of type {', '.join(repr(kind) for kind in types)}")


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string") or len(instance) > schema.get("maxLength", len(instance)):
        return  # too long is maxLength's message; no regex over a string past its cap
    if not re.search(pattern, instance):
        yield ValidationError(f"does not match {pattern!r}")


def _same(a, b) -> bool:
    """JSON equality as JSON Schema means it: true is not 1."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _enum(validator, enums, instance, schema):
    if not any(_same(instance, each) for each in enums):
        yield ValidationError(f"is not one of {enums!r}")


def _const(validator, const, instance, schema):
    if not _same(instance, const):
        yield ValidationError(f"is not {const!r}")


def _unless_over(keyword: str, cap: str):
    """`keyword` as the reference validator has it, skipped where the instance breaks `cap`: the cap
    keyword reports that instance, and walking its members is the cost a refusal must not pay."""
    original = Draft7Validator.VALIDATORS[keyword]

    def check(validator, value, instance, schema):
        limit = schema.get(cap)
        if isinstance(limit, int) and isinstance(instance, (list, dict, str)) and len(instance) > limit:
            return
        yield from original(validator, value, instance, schema)

    return check


_WALKS = {
    keyword: _unless_over(keyword, "maxItems") for keyword in ("items", "additionalItems", "contains", "uniqueItems")
}
_WALKS.update(
    {
        keyword: _unless_over(keyword, "maxProperties")
        for keyword in ("properties", "additionalProperties", "patternProperties", "propertyNames", "required")
    }
)

Draft7Explainer = create(
    meta_schema=Draft7Validator.META_SCHEMA,
    validators={
        **Draft7Validator.VALIDATORS,
        **_WALKS,
        "maxItems": _max_items,
        "maxLength": _max_length,
        "maxProperties": _max_properties,
        "type": _type,
        "pattern": _pattern,
        "enum": _enum,
        "const": _const,
    },
    # no `version`: that would register this class as the validator for every draft-07 schema
    type_checker=Draft7Validator.TYPE_CHECKER,
    format_checker=Draft7Validator.FORMAT_CHECKER,
    # types-jsonschema is stricter than jsonschema here: create() takes an id_of that may return None
    # (ID_OF itself does) and applicable_validators yielding (keyword, schema value) pairs, as `_applicable` does.
    id_of=Draft7Validator.ID_OF,  # type: ignore[arg-type]
    applicable_validators=_applicable,  # type: ignore[arg-type]
)


def most_relevant(validator, document) -> ValidationError | None:
    """The most relevant of the first few schema violations, or None if there is none."""
    return best_match(islice(validator.iter_errors(document), MAX_ERRORS))
