"""A fast, one-sided R4 validity check of a plain resource dict, compiled from fhir.resources' own models.

fhir.resources spends about 0.2 ms on a 340-byte DiagnosticReport (a Python __init__ and two model
validators per nested element), so a new patient's half-dozen candidate resources cost more than
the rest of the request. This check walks the dict against a plan read once per model class from
the same models: each element's JSON name, list or single, primitive or complex type, required
elements and choice ([x]) groups. Primitive values go through the very pydantic validators the
models use (TypeAdapter of the field's own annotation), remembered per value.

One-sided on purpose: `vouch` answers True only when every element is of a kind the plan
describes and passes; for anything else (a member the model does not have, a null, a primitive's
`_element` extension, contained resources, a value that fails) it answers None and the caller asks
fhir.resources. It never says "invalid": that word stays with fhir.resources. Any doubt costs
speed, never correctness; tests/test_quick_check.py holds it to that against fhir.resources.
"""

from __future__ import annotations

import decimal
import types
import typing
from dataclasses import dataclass

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter, ValidationError

MAX_DEPTH = 32  # deeper than any real resource; deeper ones go to fhir.resources
MAX_REMEMBERED = 20_000  # primitive verdicts per process, then forgotten at once
MAX_REMEMBERED_CHARS = 200  # longer values (narratives, attachments) are checked every time
# The JSON value types a primitive may arrive as, by the Python type its model field holds; any other
# (a number as text, 1 for true) goes to fhir.resources.
_JSON_TYPES = {str: (str,), bool: (bool,), int: (int,), decimal.Decimal: (int, float)}


@dataclass(frozen=True)
class _Field:
    many: bool
    model: type | None  # the complex type's model class, or None for a primitive
    primitive: TypeAdapter | None
    json_types: tuple  # the JSON value types a primitive may arrive as


@dataclass(frozen=True)
class _Plan:
    fields: dict[str, _Field]
    required: frozenset[str]
    choice_group: dict[str, str]  # each choice ([x]) member's group
    needed_groups: frozenset[str]  # groups of which one member is required


def _unwrap_optional(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation


def _field(annotation) -> _Field | None:
    """The plan of one element, or None when its type is outside what this check describes."""
    inner = _unwrap_optional(annotation)
    many = typing.get_origin(inner) in (list, typing.List)  # noqa: UP006 - fhir.resources uses typing.List
    if many:  # a primitive list's items are optional: a null lines a value up with its `_name` extension
        inner = _unwrap_optional(typing.get_args(inner)[0])
    if isinstance(inner, type) and issubclass(inner, FhirBase):
        if issubclass(inner, FhirElementOrResourceBase):
            return None  # contained resources: any resource type, left to fhir.resources
        model = inner.get_model_klass()
        if model.__name__ == "FHIRPrimitiveExtension":
            return None
        return _Field(many, model, None, ())
    base = typing.get_args(inner)[0] if typing.get_origin(inner) is typing.Annotated else inner
    if inner is bool or typing.get_origin(inner) is typing.Annotated:
        # dates, times, instants, URLs, base64 and the like arrive as strings
        return _Field(many, None, TypeAdapter(inner), _JSON_TYPES.get(base, (str,)))
    return None


_plans: dict = {}


def _plan(model) -> _Plan:
    plan = _plans.get(model)
    if plan is not None:
        return plan
    fields: dict[str, _Field] = {}
    required: set[str] = set()
    choice_group: dict[str, str] = {}
    needed: set[str] = set()
    for name, info in model.model_fields.items():
        key = info.alias or name
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if key.startswith("_") or name == "fhir_comments":
            continue  # not in the plan: such a member sends the resource to fhir.resources
        planned = _field(info.annotation)
        if planned is None:
            continue
        fields[key] = planned
        if info.is_required() or extra.get("element_required"):
            required.add(key)
        if "one_of_many" in extra:
            choice_group[key] = extra["one_of_many"]
            if extra.get("one_of_many_required"):
                needed.add(extra["one_of_many"])
    plan = _Plan(fields, frozenset(required), choice_group, frozenset(needed))
    _plans[model] = plan  # two threads may both build it: the same plan either way
    return plan


_verdicts: dict[tuple[int, type, object], bool] = {}


def _check(field: _Field, value) -> bool:
    try:
        field.primitive.validate_python(value)  # type: ignore[union-attr]
        return True
    except (ValidationError, ValueError, TypeError):
        return False


def _primitive_ok(field: _Field, value) -> bool:
    if type(value) not in field.json_types:  # bool is not an int here, nor a str a number
        return False
    key = (id(field.primitive), type(value), value)
    known = _verdicts.get(key)
    if known is None:
        known = _check(field, value)
        if type(value) is not str or len(value) <= MAX_REMEMBERED_CHARS:
            if len(_verdicts) >= MAX_REMEMBERED:
                _verdicts.clear()
            _verdicts[key] = known
    return known


def _element_ok(model: type, data: dict, depth: int) -> bool:
    if depth > MAX_DEPTH or not data:
        return False
    plan = _plan(model)
    fields = plan.fields
    for key, value in data.items():
        field = fields.get(key)
        if field is None or value is None:
            return False
        if field.many:
            if type(value) is not list or not value:
                return False
            items = value
        else:
            items = [value]
        for item in items:
            if field.model is not None:
                if type(item) is not dict or not _element_ok(field.model, item, depth + 1):
                    return False
            elif not _primitive_ok(field, item):
                return False
    if not plan.required <= data.keys():
        return False
    if plan.choice_group:  # at most one member of each [x] group, and one of each required group
        chosen = [plan.choice_group[k] for k in data.keys() & plan.choice_group.keys()]
        if len(chosen) != len(set(chosen)) or not plan.needed_groups.issubset(chosen):
            return False
    return True


def _model_of(resource_type) -> type | None:
    """The fhir.resources R4B model of a resource type, or None for a name that is not one."""
    if not isinstance(resource_type, str):
        return None
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        return None


def vouch(resource: dict) -> bool | None:
    """True when the resource is certainly valid R4 (fhir.resources R4B); None when unsure."""
    model = _model_of(resource.get("resourceType"))
    if model is None:
        return None
    body = {k: v for k, v in resource.items() if k != "resourceType"}
    try:
        return True if _element_ok(model, body, 1) else None
    except RecursionError:
        return None


def prepare(resource_type: str) -> int:
    """Build the plans of one resource type and of every element type under it, now rather than on a
    patient's call; returns how many models that took (a few dozen: FHIR's data types are shared)."""
    start = _model_of(resource_type)
    if start is None:
        return 0
    seen: set = set()
    pending = [start]
    while pending:
        model = pending.pop()
        if model not in seen:
            seen.add(model)
            pending.extend(f.model for f in _plan(model).fields.values() if f.model is not None)
    return len(seen)
