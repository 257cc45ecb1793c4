"""Evidence extraction from the chart: the mass, its side, the ultrasound, the calcification, the work-up."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from cds_service.clinical import load_knowledge
from cds_service.clinical.workup import age_years, is_pediatric
from cds_service.content import Content
from cds_service.pipeline import parse
from cds_service.pipeline.evidence import gather
from cds_service.pipeline.exchange import Exchange

HOOKS = Path(__file__).resolve().parent.parent / "hooks"
SCT, LOINC, ICD, DCM = (
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://dicom.nema.org/resources/ontology/DCM",
)
CALC = {"coding": [{"system": "http://snomed.info/sct", "code": "18115005"}]}
LAT_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
PID = "p1"


@pytest.fixture(scope="module")
def content():
    return Content.load(HOOKS)


@pytest.fixture(scope="module")
def kb(content):
    return load_knowledge(HOOKS, content.schemas)


@pytest.fixture
def chart(content, kb):
    """chart(*resources, drafts=(), birth='1970-01-01') -> Evidence, through the real parse stage."""

    def build(*resources, drafts=(), birth="1970-01-01"):
        exchange = Exchange(service=content.services["flank-mass-imaging-order-sign"], raw_body=b"", request_id="t")
        exchange.body = {
            "context": {
                "patientId": PID,
                "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]},
            }
        }
        exchange.prefetch = {
            "patient": {"resourceType": "Patient", "id": PID, "birthDate": birth},
            "all": {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]},
        }
        parse.run(exchange, None)
        build.record = exchange.record
        return gather(exchange.record, kb)

    return build


def cc(system, code, text=None):
    value = {"coding": [{"system": system, "code": code}]}
    if text:
        value["text"] = text
    return value


def mass(cid="m1", code=None, body=None, clinical="active", verification="confirmed", **extra):
    resource = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{PID}"},
        "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical),
        "verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", verification),
        "code": code if code is not None else cc(SCT, "300848003", "Flank mass"),
    }
    if body is not None:
        resource["bodySite"] = body
    resource.update(extra)
    return resource


def flank(side_code=None, text=None):
    site = {"coding": [{"system": SCT, "code": "58602004"}]}
    if side_code:
        site["extension"] = [{"url": LAT_EXT, "valueCodeableConcept": cc(SCT, side_code)}]
    if text:
        site["text"] = text
    return [site]


def study(
    sid="us1", modality="US", status="available", procedure=None, description=None, reason=None, series_desc=None
):
    resource = {
        "resourceType": "ImagingStudy",
        "id": sid,
        "status": status,
        "subject": {"reference": f"Patient/{PID}"},
        "modality": [{"system": DCM, "code": modality}],
    }
    if procedure:
        resource["procedureCode"] = [procedure]
    if description:
        resource["description"] = description
    if reason:
        resource["reasonReference"] = [{"reference": reason}]
    if series_desc:
        resource["series"] = [
            {"uid": "1.2.3", "modality": {"system": DCM, "code": modality}, "description": series_desc}
        ]
    return resource


def report(rid="r1", code=None, status="final", conclusion=None, codes=None, studies=(), results=()):
    resource = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "subject": {"reference": f"Patient/{PID}"},
        "code": code or cc(LOINC, "24558-9"),
    }
    if conclusion:
        resource["conclusion"] = conclusion
    if codes:
        resource["conclusionCode"] = codes
    if studies:
        resource["imagingStudy"] = [{"reference": s} for s in studies]
    if results:
        resource["result"] = [{"reference": r} for r in results]
    return resource


US_ABDOMEN = cc(LOINC, "24558-9")
CALCIFIED_REPORT = report(conclusion="Flank mass with internal calcification.", studies=["ImagingStudy/us1"])


def positive(*extra, **mass_extra):
    return (mass(body=flank("7771000"), **mass_extra), study(procedure=US_ABDOMEN), CALCIFIED_REPORT, *extra)


# --- the mass and its side ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "side_code,expected",
    [
        ("7771000", "left"),
        ("419161000", "left"),
        ("24028007", "right"),
        ("419465000", "right"),
        ("51440002", "bilateral"),
        (None, None),
    ],
)
def test_side_from_laterality_qualifier(chart, side_code, expected):
    evidence = chart(mass(body=flank(side_code)))
    assert evidence.mass is not None and evidence.mass.side == expected


@pytest.mark.parametrize(
    "condition,expected",
    [
        (mass(code=cc(ICD, "R19.02"), body=flank()), "left"),
        (mass(code=cc(ICD, "R93.421")), "right"),
        (mass(code=cc(SCT, "309088003"), body=[cc(SCT, "18639004")]), "left"),
        (mass(code={"text": "Right flank mass"}), "right"),
        (mass(body=flank(text="Left flank")), "left"),
    ],
)
def test_side_from_codes_and_words(chart, condition, expected):
    evidence = chart(condition)
    assert evidence.mass is not None, evidence
    assert evidence.mass.side == expected


@pytest.mark.parametrize(
    "condition",
    [
        mass(code=cc(SCT, "271860004")),  # abdominal mass: site implied
        mass(code=cc(ICD, "R19.09")),
        mass(code=cc(ICD, "R22.2"), body=flank()),  # superficial trunk code + flank site
        mass(code=cc(SCT, "443607001"), body=[{"text": "left loin"}]),
        mass(code={"text": "Retroperitoneal mass"}),  # words only
    ],
)
def test_what_counts_as_a_flank_mass(chart, condition):
    assert chart(condition).masses


@pytest.mark.parametrize(
    "condition",
    [
        mass(code=cc(SCT, "300848003")),  # a mass, but nowhere in particular
        mass(code=cc(ICD, "R22.2", "Lump on the back")),  # superficial trunk lump, no flank/abdominal site
        mass(code=cc(SCT, "441845009"), body=flank()),  # superficial mass is not in the value set
        mass(code={"text": "Flank pain"}),
        mass(body=flank(), clinical="resolved"),
        mass(body=flank(), clinical="inactive"),
        mass(body=flank(), clinical="remission"),
        mass(body=flank(), verification="refuted"),
        mass(body=flank(), verification="entered-in-error"),
        mass(body=flank(), clinicalStatus="active"),  # not valid R4: dropped at the model check
    ],
)
def test_what_does_not(chart, condition):
    assert chart(condition).masses == []


def test_another_patients_mass_is_ignored(chart):
    other = mass(body=flank())
    other["subject"] = {"reference": "Patient/someone-else"}
    assert chart(other).masses == []


# --- the ultrasound and the calcification ------------------------------------------------------


def test_coded_conclusion(chart):
    evidence = chart(
        mass(body=flank()), study(procedure=US_ABDOMEN), report(codes=[CALC], studies=["ImagingStudy/us1"])
    )
    assert evidence.positive
    assert [(c.ref, c.how) for c in evidence.calcifications] == [("DiagnosticReport/r1", "report-code")]


def test_report_without_study_counts(chart):
    evidence = chart(
        mass(body=flank()), report(conclusion="Mass with echogenic foci with posterior acoustic shadowing.")
    )
    assert evidence.positive and [u.kind for u in evidence.ultrasounds] == ["ultrasound-report"]


def test_calcification_not_tied_to_a_mass_does_not_count(chart):
    evidence = chart(mass(body=flank()), report(conclusion="Echogenic foci with posterior acoustic shadowing."))
    assert evidence.masses and not evidence.calcifications and not evidence.positive


def test_text_in_series_description(chart):
    evidence = chart(mass(body=flank()), study(procedure=US_ABDOMEN, series_desc="Mass with calcifications"))
    assert [(c.ref, c.how) for c in evidence.calcifications] == [("ImagingStudy/us1", "study-text")]


@pytest.mark.parametrize("link", ["derivedFrom", "partOf", "result"])
def test_observation_linked_to_the_study_or_report(chart, link):
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": cc(DCM, "121071"),
        "valueCodeableConcept": CALC,
    }
    rep = report(studies=["ImagingStudy/us1"])
    if link == "result":
        rep["result"] = [{"reference": "Observation/o1"}]
    else:
        obs[link] = [{"reference": "ImagingStudy/us1"}]
    evidence = chart(mass(body=flank()), study(procedure=US_ABDOMEN), rep, obs)
    assert [(c.ref, c.how) for c in evidence.calcifications] == [("Observation/o1", "observation-code")]


def test_observation_component_and_text(chart):
    component = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": cc(DCM, "121071"),
        "derivedFrom": [{"reference": "ImagingStudy/us1"}],
        "component": [{"code": CALC, "valueCodeableConcept": cc(SCT, "52101004")}],
    }
    text = {
        "resourceType": "Observation",
        "id": "o2",
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": {"text": "US finding"},
        "derivedFrom": [{"reference": "ImagingStudy/us1"}],
        "valueString": "Calcified component at the lower pole",
    }
    absent = copy.deepcopy(component)
    absent["id"], absent["component"][0]["valueCodeableConcept"] = "o3", cc(SCT, "2667000")
    evidence = chart(mass(body=flank()), study(procedure=US_ABDOMEN), component, text, absent)
    assert sorted((c.ref, c.how) for c in evidence.calcifications) == [
        ("Observation/o1", "observation-code"),
        ("Observation/o2", "observation-text"),
    ]


def test_unlinked_observation_does_not_count(chart):
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": cc(DCM, "121071"),
        "valueCodeableConcept": CALC,
    }
    assert not chart(mass(body=flank()), study(procedure=US_ABDOMEN), obs).positive


def test_condition_evidence_links_an_uncoded_ultrasound(chart):
    condition = mass(body=flank(), evidence=[{"code": [CALC], "detail": [{"reference": "ImagingStudy/us1"}]}])
    evidence = chart(condition, study(description="Ultrasound"))
    assert evidence.positive
    assert [(c.ref, c.how) for c in evidence.calcifications] == [("Condition/m1", "condition-evidence")]


def test_condition_evidence_without_any_ultrasound_is_not_enough(chart):
    assert not chart(mass(body=flank(), evidence=[{"code": [CALC]}])).positive


def test_reason_reference_links_an_uncoded_ultrasound(chart):
    evidence = chart(
        mass(body=flank()), study(description="Ultrasound", reason="Condition/m1", series_desc="calcified mass")
    )
    assert evidence.positive


@pytest.mark.parametrize(
    "resources",
    [
        (study(description="US thyroid", series_desc="Thyroid nodule with microcalcifications"),),
        (
            study(procedure={"text": "US breast"}),
            report(code={"text": "US breast"}, conclusion="Calcified lesion", studies=["ImagingStudy/us1"]),
        ),
        (study(procedure=US_ABDOMEN, status="cancelled", series_desc="calcified mass"),),
        (study(procedure=US_ABDOMEN, status="entered-in-error", series_desc="calcified mass"),),
        (
            study(procedure=US_ABDOMEN),
            report(status="entered-in-error", conclusion="calcified mass", studies=["ImagingStudy/us1"]),
        ),
        (study(modality="CT", procedure=US_ABDOMEN, series_desc="calcified mass"),),
        (report(code={"text": "Chest radiograph"}, conclusion="Calcified granuloma"),),
        (study(procedure=US_ABDOMEN), report(conclusion="Solid mass. No calcification.", studies=["ImagingStudy/us1"])),
    ],
)
def test_not_calcification_on_a_flank_ultrasound(chart, resources):
    assert not chart(mass(body=flank()), *resources).positive


# --- work-up state and patient facts ------------------------------------------------------------


def test_ct_done_by_study_and_by_final_report(chart):
    ct_study = study(sid="ct1", modality="CT", procedure=cc(LOINC, "36267-3"))
    assert chart(*positive(ct_study)).ct_done
    ct_report = report(rid="r2", code=cc("http://www.ama-assn.org/go/cpt", "74170"))
    assert chart(*positive(ct_report)).ct_done
    assert not chart(*positive(report(rid="r2", status="preliminary", code=cc(LOINC, "36267-3")))).ct_done


def test_mr_done_is_cross_sectional_but_not_ct(chart):
    evidence = chart(*positive(study(sid="mr1", modality="MR", description="MRI abdomen")))
    assert evidence.flags() == {
        "ctDone": False,
        "crossSectionalDone": True,
        "ctOrdered": False,
        "pediatric": False,
        "neonate": False,
        "pregnant": False,
    }


def test_ct_guided_biopsy_and_other_regions_are_not_workup(chart):
    biopsy = study(
        sid="ct1", modality="CT", procedure=cc(SCT, "277591006"), description="CT-guided biopsy of flank mass"
    )
    head = study(sid="ct2", modality="CT", description="CT head without contrast")
    assert chart(*positive(biopsy, head)).cross_sectional == []


def test_active_ct_order_counts_a_draft_does_not(chart):
    def request(rid, status):
        return {
            "resourceType": "ServiceRequest",
            "id": rid,
            "status": status,
            "intent": "order",
            "subject": {"reference": f"Patient/{PID}"},
            "code": cc("http://www.ama-assn.org/go/cpt", "74160"),
        }

    assert chart(*positive(request("sr1", "active"))).ct_orders == ["ServiceRequest/sr1"]
    assert chart(*positive(request("sr1", "draft"), request("sr2", "completed"))).ct_orders == []


def test_contrast_allergy(chart):
    def allergy(aid, text, verification="confirmed"):
        return {
            "resourceType": "AllergyIntolerance",
            "id": aid,
            "patient": {"reference": f"Patient/{PID}"},
            "code": {"text": text},
            "verificationStatus": cc(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", verification
            ),
        }

    evidence = chart(
        *positive(
            allergy("a1", "Iodinated contrast media"), allergy("a2", "Penicillin"), allergy("a3", "Iohexol", "refuted")
        )
    )
    assert evidence.contrast_allergies == ["Iodinated contrast media (AllergyIntolerance/a1)"]


@pytest.mark.parametrize(
    "birth,age,pediatric", [("2008-06-02", 17, True), ("2008-06-01", 18, False), ("2020", 6, True), (None, None, False)]
)
def test_age(birth, age, pediatric):
    patient = {"birthDate": birth} if birth else {}
    years = age_years(patient, today=date(2026, 6, 1))
    assert years == age and is_pediatric(years) is pediatric


def test_only_candidates_are_validated(chart):
    noise = [
        {
            "resourceType": "Observation",
            "id": f"n{i}",
            "status": "final",
            "subject": {"reference": f"Patient/{PID}"},
            "code": {"text": "Heart rate"},
            "valueQuantity": {"value": 70},
        }
        for i in range(500)
    ]
    noise += [mass(cid=f"c{i}", code={"text": "Hypertension"}) for i in range(500)]
    evidence = chart(*positive(*noise))
    assert evidence.positive
    assert len(chart.record._checked) < 10


def test_a_linked_old_ultrasound_is_kept_among_many_newer_ones(chart):
    newer = [study(sid=f"us-new{i}", procedure=US_ABDOMEN) for i in range(15)]
    for i, item in enumerate(newer):
        item["started"] = f"2025-05-{i + 1:02d}T09:00:00Z"
    old = study(sid="us-old", description="Ultrasound", reason="Condition/m1", series_desc="Calcified mass")
    old["started"] = "2024-01-01T09:00:00Z"
    evidence = chart(mass(body=flank()), *newer, old)
    assert evidence.positive and [c.ref for c in evidence.calcifications] == ["ImagingStudy/us-old"]


def test_validation_stays_bounded_on_a_pathological_chart(chart):
    masses = [mass(cid=f"m{i}", code=cc(SCT, "271860004")) for i in range(300)]
    studies = [study(sid=f"us{i}", procedure=US_ABDOMEN, series_desc="calcified mass") for i in range(300)]
    evidence = chart(*masses, *studies)
    assert evidence.positive
    assert len(chart.record._checked) <= 40
