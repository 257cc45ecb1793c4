"""Loads the declarative content under hooks/ and refuses to start if any of it is wrong.

Service definitions and JSON Schemas are data a clinical informaticist may edit; checking them
once at start-up (schema, token rules, duplicate ids) turns a typo into a clear start-up error
instead of a 500 in front of a clinician.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import fastjsonschema
from jsonschema import Draft7Validator, ValidationError
from jsonschema.validators import validator_for
from referencing import Registry, Resource

from .explain import Draft7Explainer
from .fhir.templates import TemplateError, check_template


class ContentError(ValueError):
    """Something under hooks/ is malformed; the message names the file."""


@dataclass(frozen=True)
class Service:
    """One CDS service: its discovery entry plus how the engine should treat its orders."""

    id: str
    hook: str
    discovery: dict
    orders: str  # "selections" | "draftOrders" | "none"
    optional_prefetch: frozenset[str] = frozenset()  # keys the decision can do without (no 412 when missing)

    @property
    def prefetch(self) -> dict[str, str]:
        return self.discovery["prefetch"]


def read_json(path: Path):
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise ContentError(f"{path}: {exc}") from None


class Schemas:
    """Validators for every schema under hooks/schemas, resolvable by file name.

    Two per draft-07 schema: fastjsonschema compiles it to Python for the hot path (is this valid?),
    and jsonschema, the reference, explains a failure with the most relevant message. Schemas of
    later drafts (the response schema) use jsonschema only.
    """

    def __init__(self, schema_dir: Path):
        if not schema_dir.is_dir():
            raise ContentError(f"{schema_dir}: schema folder not found")
        self._docs: dict[str, dict] = {}
        resources = []
        for path in sorted(schema_dir.rglob("*.schema.json")):
            doc = read_json(path)
            try:
                validator_for(doc).check_schema(doc)
            except Exception as exc:  # jsonschema.SchemaError
                raise ContentError(f"{path}: invalid JSON Schema: {exc}") from None
            name = path.relative_to(schema_dir).as_posix()
            self._docs[name] = doc
            if "$id" in doc:
                resources.append((doc["$id"], Resource.from_contents(doc)))
        self._registry = Registry().with_resources(resources)
        self._by_id = {doc["$id"]: doc for doc in self._docs.values() if "$id" in doc}
        self._validators: dict = {}
        self._compiled: dict = {}
        for name in self._docs:  # compile now: a schema the fast path cannot handle stops start-up
            try:
                self.accepts(name, None)
            except Exception as exc:
                raise ContentError(f"{schema_dir / name}: cannot compile: {exc}") from None

    def names(self) -> list[str]:
        return sorted(self._docs)

    def _doc(self, name: str) -> dict:
        if name not in self._docs:
            raise ContentError(f"schema {name!r} not found under hooks/schemas")
        return self._docs[name]

    def validator(self, name: str):
        validator = self._validators.get(name)
        if validator is None:
            doc = self._doc(name)
            validator = validator_for(doc)(doc, registry=self._registry)
            self._validators[name] = validator
        return validator

    def document(self, name: str) -> dict:
        """The schema itself (read-only), e.g. to list the members a hook's context defines."""
        return self._doc(name)

    def explainer(self, name: str):
        """A validator that explains a refusal at a cost bounded by the schema (see explain.py).

        Draft-07 schemas only (the request schemas); others get the reference validator."""
        key = ("explain", name)
        validator = self._validators.get(key)
        if validator is None:
            doc = self._doc(name)
            cls = Draft7Explainer if validator_for(doc) is Draft7Validator else validator_for(doc)
            validator = cls(doc, registry=self._registry)
            self._validators[key] = validator
        return validator

    def accepts(self, name: str, document) -> bool:
        """Fast yes/no; compiled once per schema (draft-07), else the reference validator."""
        compiled = self._compiled.get(name)
        if compiled is None:
            doc = self._doc(name)
            if validator_for(doc) is Draft7Validator:
                compiled = fastjsonschema.compile(doc, handlers={"https": self._by_id.__getitem__})
            else:
                compiled = self.validator(name).validate
            self._compiled[name] = compiled
        try:
            compiled(document)
        except (fastjsonschema.JsonSchemaException, ValidationError):
            return False
        return True


def load_services(service_dir: Path, schemas: Schemas) -> dict[str, Service]:
    definition = schemas.validator("service-definition.schema.json")
    services: dict[str, Service] = {}
    for path in sorted(service_dir.glob("*.json")):
        doc = read_json(path)
        problems = sorted(definition.iter_errors(doc), key=lambda e: list(e.path))
        if problems:
            where = "/".join(str(p) for p in problems[0].path) or "(root)"
            raise ContentError(f"{path}: {where}: {problems[0].message}")
        entry = doc["discovery"]
        for key, template in entry["prefetch"].items():
            try:
                check_template(template, entry["hook"])
            except TemplateError as exc:
                raise ContentError(f"{path}: prefetch {key!r}: {exc}") from None
        optional = doc.get("optionalPrefetch", [])
        unknown = sorted(set(optional) - set(entry["prefetch"]))
        if unknown:
            raise ContentError(f"{path}: optionalPrefetch names keys not in discovery.prefetch: {unknown}")
        if entry["id"] in services:
            raise ContentError(f"{path}: duplicate service id {entry['id']!r}")
        if f"context/{entry['hook']}.schema.json" not in schemas.names():
            raise ContentError(f"{path}: no context schema for hook {entry['hook']!r}")
        services[entry["id"]] = Service(entry["id"], entry["hook"], entry, doc["orders"], frozenset(optional))
    return services


@dataclass(frozen=True)
class Content:
    services: dict[str, Service]
    schemas: Schemas

    @classmethod
    def load(cls, hooks_dir: Path) -> Content:
        schemas = Schemas(hooks_dir / "schemas")
        for required in ("request.schema.json", "response.schema.json"):
            schemas.validator(required)
        services = load_services(hooks_dir / "services", schemas)
        return cls(services=services, schemas=schemas)
