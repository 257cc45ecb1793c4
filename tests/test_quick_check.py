"""The quick R4 check may only ever agree with fhir.resources, and must vouch for ordinary resources.

Every resource of the evaluation corpus and the fixture cases, and seeded mutations of them (the
kinds of damage real feeds carry: wrong types, nulls, empty members, unknown members, two choices
of one [x] element, bad dates and codes), is checked both ways: whenever the quick check vouches,
fhir.resources R4B must accept the resource.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.fhir.quick_check import vouch
from cds_service.pipeline.parse import full_r4, resources_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _resources() -> list[dict]:
    found = []
    for path in sorted((FIXTURES / "corpus").glob("*.json")) + sorted((FIXTURES / "cases").glob("*.json")):
        request = json.loads(path.read_text()).get("request") or {}
        for value in (request.get("prefetch") or {}).values():
            found += resources_of(value)
        found += resources_of((request.get("context") or {}).get("draftOrders"))
    unique = {json.dumps(r, sort_keys=True): r for r in found if isinstance(r, dict)}
    return list(unique.values())


RESOURCES = _resources()


def test_the_corpus_is_large_enough_to_mean_something():
    assert len(RESOURCES) > 300
    assert len({r["resourceType"] for r in RESOURCES}) >= 6


def test_vouches_only_for_what_fhir_resources_accepts_and_for_most_valid_resources():
    valid = [r for r in RESOURCES if full_r4(r)]
    vouched = [r for r in RESOURCES if vouch(r)]
    assert all(full_r4(r) for r in vouched)
    assert len(vouched) >= 0.9 * len(valid)  # the fast path is the usual path


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "recordedDate": "2026-13-45"},
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p"},
            "onsetDateTime": "2026",
            "onsetString": "as a child",
        },
        {"resourceType": "Condition"},  # subject is required
        {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "code": {"coding": [None]}},
        {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "code": {"text": 5}},
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p"},
            "note": [{"authorString": "x"}],
        },  # no text
        {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "extra": 1},
        {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "code": "text"},
        {"resourceType": "Patient", "id": "bad id!"},
        {"resourceType": "Patient", "birthDate": "1990-02-30"},
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": True}},
        {"resourceType": "Observation", "code": {"text": "x"}},  # status is required
        {"resourceType": "NoSuchType", "id": "x"},
    ],
)
def test_does_not_vouch_for_damaged_resources(resource):
    assert not full_r4(resource)
    assert vouch(resource) is None


def test_leaves_lax_coercions_to_fhir_resources():
    """pydantic's lax mode takes "true" for a boolean; FHIR JSON does not. Not vouched for."""
    assert vouch({"resourceType": "Patient", "active": "true"}) is None
    assert vouch({"resourceType": "Patient", "active": True}) is True


def _member_paths(resource: dict):
    """Paths to every member of a resource, for the mutation strategy to pick from."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(path + (key,))
                walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                paths.append(path + (i,))
                walk(value, path + (i,))

    walk(resource, ())
    return [p for p in paths if p != ("resourceType",)]


DAMAGE = [None, "", [], {}, 0, -1, 1.5, True, "2026-13-45", "not a code ", " ", "x" * 70, [None], {"x": 1}, "Patient/"]


@settings(
    max_examples=600, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(st.data())
def test_mutated_resources_are_vouched_for_only_when_fhir_resources_agrees(data):
    resource = copy.deepcopy(data.draw(st.sampled_from(RESOURCES)))
    paths = _member_paths(resource)
    if not paths:
        return
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = resource
        try:
            for step in path[:-1]:
                parent = parent[step]
            action = data.draw(st.sampled_from(("replace", "delete", "add", "sibling")))
            if action == "replace":
                parent[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(DAMAGE)))
            elif action == "delete":
                del parent[path[-1]]
            elif action == "add" and isinstance(parent, dict):
                parent[
                    data.draw(
                        st.sampled_from(("valueString", "onsetString", "effectiveString", "_status", "unknown", "id"))
                    )
                ] = "x"
            elif action == "sibling" and isinstance(parent, list):
                parent.append(copy.deepcopy(parent[0]) if parent else None)
        except (KeyError, IndexError, TypeError):
            continue
    if vouch(resource):
        assert full_r4(resource), resource
