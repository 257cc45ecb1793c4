"""Order classification: by code first (CPT, LOINC, SNOMED), then by the words of the order."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.clinical import load_knowledge
from cds_service.clinical.orders import classify_order
from cds_service.content import Content

HOOKS = Path(__file__).resolve().parent.parent / "hooks"
CPT, LOINC, SCT = "http://www.ama-assn.org/go/cpt", "http://loinc.org", "http://snomed.info/sct"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(HOOKS, Content.load(HOOKS).schemas)


def order(code=None, resource_type="ServiceRequest"):
    resource = {
        "resourceType": resource_type,
        "id": "d1",
        "status": "draft",
        "intent": "plan",
        "subject": {"reference": "Patient/p1"},
    }
    if code is not None:
        resource["code"] = code
    return resource


def coded(system, code, display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


@pytest.mark.parametrize(
    "system,code,expected",
    [
        (CPT, "74170", "ct-without-then-with"),
        (CPT, "74178", "ct-without-then-with"),
        (LOINC, "36267-3", "ct-without-then-with"),
        (CPT, "74160", "ct-with"),
        (CPT, "74177", "ct-with"),
        (LOINC, "79103-8", "ct-with"),
        (SCT, "32962002", "ct-with"),
        (CPT, "74150", "ct-without"),
        (CPT, "74176", "ct-without"),
        (LOINC, "36424-0", "ct-without"),
        (CPT, "74181", "mri-without"),
        (LOINC, "30668-8", "mri-without"),
        (CPT, "74182", "mri"),
        (CPT, "74183", "mri"),
        (LOINC, "24557-1", "mri"),
        (SCT, "241624001", "mri"),
        (CPT, "49180", "biopsy"),
        (CPT, "10009", "biopsy"),
        (CPT, "50200", "biopsy"),
        (LOINC, "30601-9", "biopsy"),
        (SCT, "277591006", "biopsy"),
        (SCT, "48426002", "biopsy"),
        (SCT, "169070004", "ct-unspecified"),
        (CPT, "71046", "other"),
        (LOINC, "58410-2", "other"),
    ],
)
def test_codes(kb, system, code, expected):
    assert classify_order(order(coded(system, code)), kb) == expected


def test_cpt_by_oid_is_the_same_code(kb):
    assert classify_order(order(coded("urn:oid:2.16.840.1.113883.6.12", "74183")), kb) == "mri"


def test_code_beats_misleading_text(kb):
    code = coded(CPT, "74160")
    code["text"] = "CT abdomen without contrast"
    assert classify_order(order(code), kb) == "ct-with"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("CT abdomen without and with IV contrast", "ct-without-then-with"),
        ("CT abdomen/pelvis w wo contrast", "ct-without-then-with"),
        ("CT abd wo/w contrast", "ct-without-then-with"),
        ("Abdomen CT W and WO contrast IV", "ct-without-then-with"),
        ("CT abdomen with IV contrast", "ct-with"),
        ("Contrast-enhanced CT of the abdomen", "ct-with"),
        ("CT abdomen w/o contrast", "ct-without"),
        ("Unenhanced CT kidneys", "ct-without"),
        ("CT abdomen", "ct-unspecified"),
        ("MRI abdomen with and without contrast", "mri"),
        ("MR kidneys", "mri"),
        ("MRI abdomen without contrast", "mri-without"),
        ("MRI ABD W/O", "mri-without"),
        ("MR abdomen non-contrast", "mri-without"),
        ("MRI ABD W WO", "mri"),
        ("MRI abdomen wo/w", "mri"),
        ("CT-guided biopsy of retroperitoneal mass", "biopsy"),
        ("US-guided core needle biopsy, left kidney", "biopsy"),
        ("Fine-needle aspiration of flank soft tissue mass", "biopsy"),
        ("CT chest with contrast", "imaging-other"),
        ("CT CHEST W/O", "imaging-other"),
        ("IR PICC PLACEMENT", "imaging-other"),
        ("MRI brain", "imaging-other"),
        ("Complete blood count", "other"),
        ("IR BX LEFT RENAL MASS", "biopsy"),
        ("US GUIDED FNA RETROPERITONEAL MASS", "biopsy"),
        ("CT GUIDED BX ABD MASS", "biopsy"),
        ("CT ABD C+", "ct-with"),
        ("CT ABD C-", "ct-without"),
        ("CT RETROPERITONEAL C+/C-", "ct-without-then-with"),
        ("CT ABD W + WO", "ct-without-then-with"),
        ("CT ABD W/WO", "ct-without-then-with"),
        ("CT ABD WO/W", "ct-without-then-with"),
        ("CT ABD W/O", "ct-without"),
    ],
)
def test_text(kb, text, expected):
    assert classify_order(order({"text": text}), kb) == expected


def test_display_only_coding_is_read_as_text(kb):
    assert classify_order(order({"coding": [{"display": "MRI abdomen w/wo"}]}), kb) == "mri"


@pytest.mark.parametrize(
    "resource",
    [
        order({"coding": [{}]}),  # Sandbox half-filled draft
        order(None),  # no code at all
        order({"coding": [{"system": CPT}]}),  # system without code
        order(coded(CPT, "74183"), resource_type="MedicationOrder"),
        order(coded(CPT, "74183"), resource_type="MedicationRequest"),
        {"resourceType": "ServiceRequest"},
        "ServiceRequest/x",
    ],
)
def test_anything_else(kb, resource):
    assert classify_order(resource, kb) == "other"
