"""Synthetic but realistic request bodies for the benchmark scenarios (no real patient data)."""

from __future__ import annotations

import uuid

import orjson

from tests.support.builders import PREFETCH_KEYS

PID = "bench-patient"
SUBJECT = {"reference": f"Patient/{PID}"}
KEYS = PREFETCH_KEYS  # the services' prefetch keys, as the tests know them


def _bundle(resources) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources],
    }


def evidence() -> dict[str, list]:
    """An adult with a left renal mass and an abdominal ultrasound that found calcification."""
    mass = {
        "resourceType": "Condition",
        "id": "mass-1",
        "subject": SUBJECT,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "provisional"}]
        },
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "309088003", "display": "Renal mass"}],
            "text": "Left flank mass",
        },
        "bodySite": [
            {"coding": [{"system": "http://snomed.info/sct", "code": "18639004", "display": "Left kidney structure"}]}
        ],
        "recordedDate": "2026-11-01",
    }
    study = {
        "resourceType": "ImagingStudy",
        "id": "us-1",
        "status": "available",
        "subject": SUBJECT,
        "started": "2026-11-02T09:00:00Z",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "US"}],
        "procedureCode": [{"coding": [{"system": "http://loinc.org", "code": "24558-9", "display": "US Abdomen"}]}],
        "reasonReference": [{"reference": "Condition/mass-1"}],
        "series": [
            {
                "uid": "2.25.1",
                "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "US"},
                "description": "Left flank mass with echogenic foci and posterior acoustic shadowing",
            }
        ],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "us-report-1",
        "status": "final",
        "subject": SUBJECT,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24558-9", "display": "US Abdomen"}]},
        "effectiveDateTime": "2026-11-02T09:30:00Z",
        "imagingStudy": [{"reference": "ImagingStudy/us-1"}],
        "conclusion": "Solid left flank mass with internal calcification.",
        "conclusionCode": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "18115005",
                        "display": "Pathologic calcification, calcified structure",
                    }
                ]
            }
        ],
    }
    return {"conditions": [mass], "imagingStudies": [study], "diagnosticReports": [report]}


def _noise(i: int) -> dict:
    if i % 4 == 0:
        return {
            "resourceType": "Condition",
            "id": f"c-{i}",
            "subject": SUBJECT,
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]},
        }
    return {
        "resourceType": "Observation",
        "id": f"o-{i}",
        "status": "final",
        "subject": SUBJECT,
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "imaging"}]}
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "effectiveDateTime": "2026-10-01T08:00:00Z",
        "valueQuantity": {"value": 60 + i % 40, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def prefetch(resources: int) -> dict:
    """The positive evidence plus enough unrelated conditions and observations to reach `resources`."""
    found = evidence()
    noise = [_noise(i) for i in range(max(0, resources - 4))]
    conditions = found["conditions"] + [r for r in noise if r["resourceType"] == "Condition"]
    observations = [r for r in noise if r["resourceType"] == "Observation"]
    return {
        "patient": {"resourceType": "Patient", "id": PID, "birthDate": "1968-03-14", "gender": "male"},
        "conditions": _bundle(conditions),
        "imagingStudies": _bundle(found["imagingStudies"]),
        "diagnosticReports": _bundle(found["diagnosticReports"]),
        "imagingObservations": _bundle(observations),
        "serviceRequests": None,
        "allergies": None,
        "renalLabs": None,
        "pregnancy": None,
    }


def mri_draft() -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": "draft-mri",
        "status": "draft",
        "intent": "order",
        "subject": SUBJECT,
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "74183",
                    "display": "MRI abdomen without and with contrast",
                }
            ]
        },
    }


def half_filled_draft() -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": "draft-new",
        "status": "draft",
        "intent": "plan",
        "subject": SUBJECT,
        "code": {"coding": [{}]},
    }


def order_select(draft: dict, prefetch_value: dict | None, **extra) -> dict:
    body = {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/bench",
            "patientId": PID,
            "selections": [f"ServiceRequest/{draft['id']}"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
        },
    }
    if prefetch_value is not None:
        body["prefetch"] = prefetch_value
    body.update(extra)
    return body


def encode(body: dict) -> bytes:
    return orjson.dumps(body)
