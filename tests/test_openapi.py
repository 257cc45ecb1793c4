"""GET /openapi.json, and a schemathesis run of the real served app against it.

The run is seeded and bounded (examples per operation, both valid and invalid data): no 5xx, every
status and content type declared, every body (errors included) matching the described schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31

# Imported here, at collection, rather than on first use inside a test: pytest rewrites the asserts
# of a plugin's modules as they are imported, and one fresh-clone run failed in that rewrite
# ("AST constructor recursion depth mismatch", CPython 3.11) when the first import came deep in a
# fixture with the app's server threads running. schemathesis.openapi.from_url imports this lazily.
from schemathesis.specs.openapi.schemas import OpenApiSchema  # noqa: F401

from cds_service.warmup import warm

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"


def _validator(doc: dict, component: str) -> Draft202012Validator:
    """A validator for one component, resolving `#/components/...` against the whole document."""
    registry = Registry().with_resource(
        "urn:openapi",
        Resource.from_contents(doc, default_specification=None) if "$schema" in doc else Resource.opaque(doc),
    )
    return Draft202012Validator({"$ref": f"urn:openapi#/components/schemas/{component}"}, registry=registry)


def test_served_without_auth_with_cors_and_the_real_request_schemas(live, http):
    url = live({"CDS_AUTH_MODE": "required", "CDS_TRUSTED_CLIENTS": ""})
    response = http.get(f"{url}/openapi.json", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    doc = response.json()
    assert doc["openapi"].startswith("3.1.")
    for operation in ("/cds-services/{id}", "/cds-services/{id}/feedback"):
        responses = doc["paths"][operation]["post"]["responses"]
        assert {"200", "400", "401", "404", "405", "413", "415", "500", "503"} <= set(responses)
    # The bundled request schema is the one the service validates with: fixture requests pass it,
    # and what the service refuses for its shape, the description refuses too.
    requests = _validator(doc, "ServiceRequest")
    index = json.loads((CASES / "index.json").read_text())["cases"]
    for case in index[:10]:
        assert requests.is_valid(json.loads((CASES / case["file"]).read_text())), case["file"]
    body = json.loads((CASES / index[0]["file"]).read_text())
    body["context"]["patientId"] = 5
    assert not requests.is_valid(body)
    assert not _validator(doc, "feedback").is_valid(
        {"feedback": [{"card": "a\u0000", "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]}
    )


def test_the_description_is_valid_openapi_3_1(live, http):
    """Checked with the OpenAPI 3.1 metaschema schemathesis ships (no network)."""
    doc = http.get(f"{live()}/openapi.json").json()
    errors = list(Draft202012Validator(OPENAPI_31).iter_errors(doc))
    assert errors == [], errors[0].message


@pytest.fixture
def api(live_app):
    config = schemathesis.Config.from_dict({"generation": {"max-examples": 25, "database": "none"}})
    # generated fhirServer values name hosts that do not exist: keep each failed fetch short
    url, runtime = live_app({"CDS_FHIR_TIMEOUT_S": "0.3", "CDS_FHIR_DEADLINE_S": "0.5"})
    # Build now, in this thread, what a first call builds lazily (the narrative pipeline imports
    # spaCy and medspaCy): CPython 3.11 counts AST depth per interpreter, and an import compiling
    # classes in a server thread while hypothesis parses a lambda's source here raised SystemError.
    warm(runtime)
    return url, schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


def _checks():
    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(api, http, mode):
    base, schema = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6  # every path but the description's own (schemathesis leaves it out)
    checks = _checks()
    for operation in operations:
        if mode == "negative" and not list(operation.body):
            continue  # nothing to make invalid in a GET without parameters
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

        @seed(20261123)
        @settings(
            max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
        )
        @given(case=strategy)
        def run(case):
            case.call_and_validate(base_url=base, session=http, checks=checks)

        run()


def test_stateful_schemathesis_follows_the_links_from_discovery(api, http):
    """Discovery's links name the services to call; sequences of calls keep every answer declared."""
    base, schema = api
    checks = _checks()

    class Scenario(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": base, "session": http}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=checks)

    Scenario.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=5,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
