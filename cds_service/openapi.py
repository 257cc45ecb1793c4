"""The OpenAPI 3.1 description served at GET /openapi.json, bundled from hooks/ at start-up.

hooks/openapi.json is written by hand and refers to the request, feedback, response and error
schemas by file (`schemas/request.schema.json`), so the description cannot drift from the schemas
the service validates with. Bundling copies each referenced schema (and the schemas those refer
to) into components/schemas and rewrites every `$ref` to a local pointer, because API tools
resolve `#/components/...` reliably and `$id`-relative file references rarely. Any reference that
does not resolve, or a bundled schema its metaschema rejects, stops start-up.
"""

from __future__ import annotations

import copy
import threading
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import orjson
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from .content import ContentError, Schemas, read_json

PREFIX = "schemas/"


def _component(name: str) -> str:
    """`context/order-select.schema.json` -> `context.order-select` (a valid component key)."""
    return name.removesuffix(".schema.json").replace("/", ".")


class _Bundler:
    def __init__(self, schemas: Schemas):
        self.schemas = schemas
        self.by_id = {}
        for name in schemas.names():
            doc = schemas.document(name)
            if "$id" in doc:
                self.by_id[doc["$id"]] = name
        self.bundled: dict[str, dict] = {}

    def file_ref(self, name: str, fragment: str) -> str:
        """A pointer into the bundled copy of schema file `name`, bundling it on first use."""
        if name not in self.schemas.names():
            raise ContentError(f"hooks/openapi.json: $ref to schemas/{name}, which does not exist")
        key = _component(name)
        if key not in self.bundled:
            self.bundled[key] = {}  # placeholder first: schemas may refer to each other
            doc = self.schemas.document(name)
            self.bundled[key] = self._copy(
                doc, doc.get("$id", ""), key, draft07=validator_for(doc) is not Draft202012Validator
            )
        return f"#/components/schemas/{key}{fragment}"

    def _copy(self, node, base: str, key: str, draft07: bool):
        if isinstance(node, list):
            return [self._copy(item, base, key, draft07) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for member, value in node.items():
            if member in ("$id", "$schema"):
                continue
            if member == "$ref" and isinstance(value, str):
                out["$ref"] = self._rewrite(value, base, key)
            elif draft07 and member == "dependencies" and all(isinstance(v, list) for v in value.values()):
                out["dependentRequired"] = copy.deepcopy(value)  # the 2020-12 spelling OpenAPI 3.1 uses
            elif member in ("properties", "$defs", "definitions", "patternProperties"):
                out[member] = {k: self._copy(v, base, key, draft07) for k, v in value.items()}
            else:
                out[member] = self._copy(value, base, key, draft07)
        return out

    def _rewrite(self, ref: str, base: str, key: str) -> str:
        if ref.startswith("#"):
            return f"#/components/schemas/{key}{ref[1:]}"
        url, fragment = urldefrag(urljoin(base, ref))
        name = self.by_id.get(url)
        if name is None:
            raise ContentError(f"schema {key}: $ref {ref!r} names no schema under hooks/schemas")
        return self.file_ref(name, f"{fragment}" if fragment else "")


def _rewrite_document(node, bundler: _Bundler):
    if isinstance(node, list):
        return [_rewrite_document(item, bundler) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for member, value in node.items():
        if member == "$ref" and isinstance(value, str) and value.startswith(PREFIX):
            name, _, fragment = value[len(PREFIX) :].partition("#")
            out[member] = bundler.file_ref(name, fragment)
        else:
            out[member] = _rewrite_document(value, bundler)
    return out


def _pointer(doc: dict, ref: str):
    node = doc
    for part in ref.removeprefix("#/").split("/") if ref != "#" else ():
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ContentError(f"hooks/openapi.json: $ref {ref!r} does not resolve after bundling")
    return node


def _check(doc: dict) -> None:
    """Every $ref resolves and every schema is valid JSON Schema 2020-12 (OpenAPI 3.1's dialect)."""
    if not str(doc.get("openapi", "")).startswith("3.1.") or not isinstance(doc.get("paths"), dict):
        raise ContentError("hooks/openapi.json: not an OpenAPI 3.1 document with paths")
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                _pointer(doc, node["$ref"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    for key, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # jsonschema.SchemaError
            raise ContentError(f"hooks/openapi.json: bundled schema {key} is invalid: {exc}") from None


def _name_services(doc: dict, service_ids: list[str]) -> None:
    """The `{id}` path parameter lists the services of hooks/services/ (data, so not hand-written)."""
    for path, item in doc["paths"].items():
        for operation in item.values() if "{id}" in path else ():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                if parameter.get("name") == "id" and parameter.get("in") == "path":
                    parameter.setdefault("schema", {})["enum"] = sorted(service_ids)


def build(hooks_dir: Path, schemas: Schemas, service_ids: list[str]) -> dict:
    """The bundled, checked OpenAPI document for hooks_dir (ContentError if anything is wrong)."""
    source = read_json(hooks_dir / "openapi.json")
    bundler = _Bundler(schemas)
    doc = _rewrite_document(source, bundler)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for key, schema in bundler.bundled.items():
        if key in components:
            raise ContentError(f"hooks/openapi.json: components/schemas/{key} clashes with a bundled schema")
        components[key] = schema
    _check(doc)
    _name_services(doc, service_ids)
    return doc


_served: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_served_lock = threading.Lock()


def served_body(hooks_dir: Path, schemas: Schemas, service_ids: list[str]) -> bytes:
    """The document as served, built once per loaded content (bundling and checking cost ~40 ms,
    and the app factory runs again for the same files in tests and `evaluate`)."""
    key = (str(hooks_dir), tuple(sorted(service_ids)))
    with _served_lock:
        per_schemas = _served.setdefault(schemas, {})
        if key not in per_schemas:
            per_schemas[key] = orjson.dumps(build(hooks_dir, schemas, service_ids))
        return per_schemas[key]
