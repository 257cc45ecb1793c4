"""Prefetch template rules (CDS Hooks 2.0 §Prefetch tokens and query restrictions) and expansion."""

import pytest

from cds_service.fhir.templates import TemplateError, Unresolvable, check_template, expand


@pytest.mark.parametrize(
    "template",
    [
        "Patient/{{context.patientId}}",
        "Condition?patient={{context.patientId}}",
        "Observation?patient={{context.patientId}}&category=imaging&_count=50&_sort=-date",
        "Observation?patient={{context.patientId}}&code:in=http://example.org/vs&date=ge2024-01-01",
        "PractitionerRole?_id={{userPractitionerRoleId}}",
        "Encounter/{{context.encounterId}}",
    ],
)
def test_valid_templates_pass(template):
    check_template(template, "order-select")


@pytest.mark.parametrize(
    "template, why",
    [
        ("MedicationRequest?_id={{context.draftOrders}}", "not a root primitive token"),
        ("Medication/{{context.medication.id}}", "nested path"),
        ("Patient/{{context.selections}}", "selections is not a token field"),
        ("Condition?patient={{context.patientId}}&_include=Condition:subject", "_include"),
        ("Condition?patient={{context.patientId}}&code:text=mass", "modifier other than :in"),
        ("Condition?patient={{patientId}}", "token without context."),
        ("condition?patient={{context.patientId}}", "not a resource type"),
        ("Patient/{{context.patientId}}?_elements=id", "query on a read"),
        ("Patient/{{context.patientId", "unbalanced"),
    ],
)
def test_invalid_templates_are_refused(template, why):
    with pytest.raises(TemplateError):
        check_template(template, "order-select")


def test_expand_substitutes_and_encodes():
    context = {"patientId": "p-1.2", "userId": "Practitioner/dr 1"}
    assert expand("Condition?patient={{context.patientId}}", context) == "Condition?patient=p-1.2"
    assert expand("{{context.userId}}", context) == "Practitioner/dr%201"
    assert expand("Practitioner/{{userPractitionerId}}", context) == "Practitioner/dr%201"
    injected = {"patientId": "p1&_include=*"}
    assert expand("Condition?patient={{context.patientId}}", injected) == "Condition?patient=p1%26_include%3D%2A"


@pytest.mark.parametrize(
    "template, context",
    [
        ("Encounter/{{context.encounterId}}", {"patientId": "p1"}),
        ("PractitionerRole?_id={{userPractitionerRoleId}}", {"userId": "Practitioner/dr-1"}),
        ("Patient/{{context.patientId}}", {"patientId": ""}),
    ],
)
def test_unresolvable_tokens(template, context):
    with pytest.raises(Unresolvable):
        expand(template, context)
