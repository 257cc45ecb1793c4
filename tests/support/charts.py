"""Builders for charts whose findings sit in report narratives (issue 9 tests)."""

from __future__ import annotations

import base64

from .builders import PREFETCH_KEYS, SERVICE_IDS, bundle, draft_service_request, patient, request

SCT, ICD, LOINC, CPT = (
    "http://snomed.info/sct",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://loinc.org",
    "http://www.ama-assn.org/go/cpt",
)
DCM = "http://dicom.nema.org/resources/ontology/DCM"
US_ABDOMEN = {"coding": [{"system": LOINC, "code": "24558-9", "display": "US Abdomen"}]}
MRI_ABDOMEN = {"coding": [{"system": CPT, "code": "74183"}], "text": "MRI abdomen w/wo contrast"}


def condition(cid="mass-1", pid="p1", code=None, body=None, text="Left flank mass", recorded="2025-01-05"):
    resource = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]
        },
        "code": code or {"coding": [{"system": SCT, "code": "300848003"}], "text": text},
        "recordedDate": recorded,
    }
    if body is not None:
        resource["bodySite"] = body
    return resource


def flank_site():
    return [{"coding": [{"system": SCT, "code": "58602004"}], "text": "Flank"}]


def attachment(text: str, content_type: str = "text/plain", charset: str = "utf-8") -> dict:
    ctype = content_type if content_type != "text/plain" or not charset else f"text/plain; charset={charset}"
    return {"contentType": ctype, "data": base64.b64encode(text.encode(charset or "utf-8")).decode()}


def us_report(
    rid="us-1", pid="p1", date="2025-01-10T09:00:00Z", code=None, conclusion=None, forms=(), div=None, status="final"
):
    resource = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "subject": {"reference": f"Patient/{pid}"},
        "code": code or US_ABDOMEN,
        "effectiveDateTime": date,
    }
    if conclusion:
        resource["conclusion"] = conclusion
    if forms:
        resource["presentedForm"] = list(forms)
    if div:
        resource["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{div}</div>'}
    return resource


def report_body(findings: str, impression: str = "", history: str = "Flank mass.") -> str:
    """A realistic plain-text abdominal ultrasound report around the given findings."""
    return (
        "EXAM: US ABDOMEN COMPLETE\n"
        f"CLINICAL HISTORY: {history}\n"
        "COMPARISON: None.\n"
        "TECHNIQUE: Grayscale and color Doppler images were obtained.\n\n"
        "FINDINGS:\n"
        "Liver: Normal in size and echotexture. No focal lesion.\n"
        "Gallbladder: Normally distended without wall thickening.\n"
        "Spleen: 9.8 cm, homogeneous.\n"
        f"{findings}\n\n"
        f"IMPRESSION:\n{impression or findings}\n"
    )


def chart(*resources, pid="p1", hook="order-select", draft_code=None, birth="1970-05-01", **extra) -> dict:
    """A complete request: every prefetch key present; the resources sorted into their keys."""
    keys = {
        "Condition": "conditions",
        "ImagingStudy": "imagingStudies",
        "DiagnosticReport": "diagnosticReports",
        "DocumentReference": "documentReferences",
        "Observation": "imagingObservations",
        "ServiceRequest": "serviceRequests",
        "AllergyIntolerance": "allergies",
    }
    grouped: dict[str, list] = {}
    for resource in resources:
        grouped.setdefault(keys[resource["resourceType"]], []).append(resource)
    prefetch = {key: bundle(*grouped.get(key, ())) for key in PREFETCH_KEYS if key != "patient"}
    prefetch["patient"] = patient(pid, birth)
    drafts = [draft_service_request(pid=pid, code=draft_code or MRI_ABDOMEN)] if hook != "patient-view" else None
    return request(hook, pid, prefetch, drafts=drafts, **extra)


def text_report(text: str, **extra) -> dict:
    """An ultrasound report whose narrative is this plain text."""
    return us_report(forms=[attachment(text)], **extra)


def poster(http, base: str):
    """call(*resources, hook=..., **chart options) -> the service's answer to that chart, checked 200."""

    def call(*resources, hook="order-select", **extra):
        response = http.post(
            f"{base}/cds-services/{SERVICE_IDS[hook]}", json=chart(*resources, hook=hook, **extra), timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()

    return call
