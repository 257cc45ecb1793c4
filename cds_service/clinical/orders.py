"""What an order (draft or existing) is, in the terms the pathway cares about.

Codes decide first because they are unambiguous; text is the fallback because the Sandbox and
many EHR order composers send only a display or a free-text name. Class precedence lives in
orders.json so that "CT-guided biopsy" resolves to biopsy, not CT.
"""

from __future__ import annotations

from .codes import codings, concept_text
from .knowledge import Knowledge

OTHER = "other"


def classify_concept(concept, kb: Knowledge) -> str:
    """The order class of a CodeableConcept (or list of them): a class id from orders.json, or 'other'.

    A code belongs to one class only (checked at start-up), so the first coded match decides. A code
    that names no body site ("Fine needle aspiration, with ultrasound guidance") decides the class
    unless the order's words place it in another region ("... THYROID NODULE"): then it is imaging
    of another region, rated but never a card."""
    for coding in codings(concept):
        key = kb.key(coding)
        cid = kb.order_index.get(key) if key is not None else None
        if cid is not None:
            if key in kb.siteless_orders and _elsewhere(concept_text(concept), kb):
                return "imaging-other"
            return cid
    return classify_text(concept_text(concept), kb)


def _elsewhere(text: str, kb: Knowledge) -> bool:
    """The words name another region and not the flank region."""
    return bool(text) and kb.concepts["other-region"].found(text) and not kb.order_text["region"].search(text)


def classify_text(text: str, kb: Knowledge) -> str:
    if not text:
        return OTHER
    rx = kb.order_text
    if not rx["region"].search(text):
        return "imaging-other" if rx["otherImaging"].search(text) else OTHER
    if rx["biopsy"].search(text):
        # a skin or marrow biopsy near the flank is not a biopsy of the deep mass
        superficial = rx.get("superficialBiopsy")
        return OTHER if superficial is not None and superficial.search(text) else "biopsy"
    if rx["ct"].search(text):
        if rx["contrastBoth"].search(text):
            return "ct-without-then-with"
        if rx["contrastWithout"].search(text):
            return "ct-without"
        if rx["contrastWith"].search(text):
            return "ct-with"
        return "ct-unspecified"
    if rx["mri"].search(text):
        # gadolinium matters in pregnancy: an MRI said to be without contrast is its own class
        if rx["contrastWithout"].search(text) and not rx["contrastBoth"].search(text):
            return "mri-without"
        return "mri"
    return OTHER


def classify_order(resource: dict, kb: Knowledge) -> str:
    """A draft's class. Anything that is not a ServiceRequest with a usable code is 'other'."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "ServiceRequest":
        return OTHER
    return classify_concept(resource.get("code"), kb)


def modality_of(order_class: str, kb: Knowledge) -> str | None:
    spec = kb.order_classes.get(order_class)
    return spec.modality if spec else None


def order_name(resource: dict) -> str:
    """The order's name said once: its text, else its first coding's display (not text and every
    display joined, which repeats the study: "MRI abdomen w/wo contrast . MRI abdomen ...")."""
    code = resource.get("code") if isinstance(resource, dict) else None
    if not isinstance(code, dict):
        return ""
    if isinstance(code.get("text"), str) and code["text"].strip():
        return code["text"]
    return next((c["display"] for c in codings(code) if isinstance(c.get("display"), str) and c["display"].strip()), "")
