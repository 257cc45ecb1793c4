"""Small builders for CDS Hooks requests and FHIR resources used across tests."""

from __future__ import annotations

import uuid

PREFETCH_KEYS = (
    "patient",
    "conditions",
    "imagingStudies",
    "diagnosticReports",
    "documentReferences",
    "imagingObservations",
    "serviceRequests",
    "allergies",
    "renalLabs",
    "pregnancy",
    "medications",
)

SERVICE_IDS = {
    "order-select": "flank-mass-imaging-order-select",
    "order-sign": "flank-mass-imaging-order-sign",
    "patient-view": "flank-mass-imaging-patient-view",
}


def bundle(*resources, **extra) -> dict:
    doc = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    doc.update(extra)
    return doc


def patient(pid: str = "p1", birth_date: str = "1970-05-01") -> dict:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth_date, "gender": "female"}


def empty_prefetch(pid: str = "p1") -> dict:
    """Every key present and authoritative: the patient, and no other data."""
    prefetch = {key: None for key in PREFETCH_KEYS}
    prefetch["patient"] = patient(pid)
    return prefetch


def draft_service_request(rid: str = "sr-1", pid: str = "p1", code: dict | None = None) -> dict:
    resource = {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "draft",
        "intent": "plan",
        "subject": {"reference": f"Patient/{pid}"},
    }
    resource["code"] = code if code is not None else {"coding": [{}]}
    return resource


def mri_draft(rid: str = "sr-1", pid: str = "p1") -> dict:
    """A draft the chart can change the answer for (MRI abdomen): the service reads the chart for it."""
    return draft_service_request(rid, pid, {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "74183"}]})


def request(hook: str = "order-select", pid: str = "p1", prefetch: dict | None = None, drafts=None, **extra) -> dict:
    context: dict = {"userId": "Practitioner/dr-1", "patientId": pid}
    if hook in ("order-select", "order-sign"):
        drafts = drafts if drafts is not None else [draft_service_request(pid=pid)]
        context["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]}
        if hook == "order-select":
            context["selections"] = [f"{d['resourceType']}/{d['id']}" for d in drafts[:1]]
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def fhir_authorization(token: str) -> dict:
    """The fhirAuthorization member an EHR sends beside fhirServer (CDS Hooks 2.0)."""
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/*.read",
        "subject": "cds-service",
    }
