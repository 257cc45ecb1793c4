"""What the CDS Hooks Sandbox (cds-hooks/sandbox at 3b7e255, the build in ../shared/sandbox) does
with our answers, step by step, for the tests that cannot start a browser.

Read from its source (src/components/Pama/pama.jsx, src/components/PatientView/patient-view.jsx,
src/components/CardList/card-list.jsx, src/reducers/pama-reducers.js) and its built bundle:

- Every screen's card list posts the feedback first (`accepted` with the suggestion's uuid), then
  hands the suggestion to the screen.
- The PAMA Imaging screen keeps only the suggestion's `update` actions (`create` and `delete` are
  dropped). For each updated resource it reads, in this order and without checks, the first
  `http://fhir.org/argonaut/Extension/pama-rating` extension's codes, `code.coding[0]` and
  `reasonCode.map(r => r.coding[0])`; any of them missing is a TypeError and the order stays as it
  was. Otherwise the order becomes that study and those reasons, and the badge that rating.
- The patient-view screen gives its card list a suggestion handler that does nothing.
- A response's `extension.systemActions` updates set the badge from the first such rating.
- On every change of the order it calls order-select with one draft ServiceRequest built from the
  chosen study and reasons (`generateContext`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

SANDBOX_RATING_URL = "http://fhir.org/argonaut/Extension/pama-rating"
DRAFT_ID = "example-request-id"


class SandboxTypeError(Exception):
    """Where the Sandbox's JavaScript throws a TypeError (the page keeps running; nothing applied)."""


@dataclass
class PamaScreen:
    patient_id: str
    study: dict = field(default_factory=dict)  # a CPT coding from the Sandbox's list, or {} (none yet)
    reasons: list[dict] = field(default_factory=list)  # SNOMED codings
    rating: str = "unknown"
    feedback: list[dict] = field(default_factory=list)

    def context(self) -> dict:
        """The order-select context the screen sends for its one draft."""
        draft = {
            "resourceType": "ServiceRequest",
            "id": DRAFT_ID,
            "status": "draft",
            "intent": "plan",
            "code": {"coding": [self.study], "text": self.study.get("display")},
            "subject": {"reference": f"Patient/{self.patient_id}"},
            "reasonCode": [{"coding": [r], "text": r.get("display")} for r in self.reasons],
        }
        return {
            "patientId": self.patient_id,
            "userId": "Practitioner/example",
            "selections": [f"ServiceRequest/{DRAFT_ID}"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": _undefined_dropped(draft)}]},
        }

    def receive(self, response: dict) -> None:
        """The badge from the first Sandbox-style rating among the system actions."""
        updates = [a for a in (response.get("extension") or {}).get("systemActions") or () if a["type"] == "update"]
        ratings = [r for a in updates for r in _ratings(a.get("resource") or {})]
        if ratings:
            self.rating = ratings[0]

    def accept(self, card: dict, suggestion: dict) -> None:
        self.feedback.append(
            {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion["uuid"]}]}
        )
        for resource in [a.get("resource") or {} for a in suggestion["actions"] if a["type"] == "update"]:
            rating = _ratings(resource)
            if not rating:
                raise SandboxTypeError("cannot destructure 'rating' of undefined (no Sandbox pama-rating extension)")
            try:
                study = resource["code"]["coding"][0]
                reasons = [item["coding"][0] for item in resource["reasonCode"]]
            except (KeyError, IndexError, TypeError) as exc:
                raise SandboxTypeError(f"cannot read properties of undefined (reading {exc})") from None
            self.rating, self.study, self.reasons = rating[0], copy.deepcopy(study), copy.deepcopy(reasons)


def accept_on_patient_view(card: dict, suggestion: dict) -> list[dict]:
    """The patient-view screen: feedback posted, the suggestion itself dropped."""
    return [{"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion["uuid"]}]}]


def _ratings(resource: dict) -> list[str]:
    return [
        coding["code"]
        for ext in resource.get("extension") or ()
        if ext.get("url") == SANDBOX_RATING_URL
        for coding in ext["valueCodeableConcept"]["coding"]
    ]


def _undefined_dropped(value):
    """JSON.stringify leaves out members whose value is undefined (a text with no study yet)."""
    if isinstance(value, dict):
        return {k: _undefined_dropped(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_undefined_dropped(v) for v in value]
    return value
