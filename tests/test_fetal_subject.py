"""Issue 23 point 2, end to end over HTTP: the fetus is not the patient. An obstetric ultrasound on
a pregnant woman's chart (known by its code or only by its title) and a fetal finding inside her
own abdominal report never make her a patient with a calcified flank mass; her own calcified renal
mass on her own ultrasound still gets its card with an obstetric study beside it.

The charts are what an EHR sends: a pregnancy (and often a left flank mass) on the problem list, the
reports, a draft order; the expectation is what a clinician reading the chart would want."""

from __future__ import annotations

import pytest

from tests.support.charts import CPT, LOINC, SCT, attachment, condition, flank_site, poster, report_body, text_report

# a pregnant woman's own calcified mass: the pregnancy pathway's cards (issue 23 point 1)
ORDER_CT = "ultrasound or MRI without contrast before any CT"
BIOPSY_FIRST = "image it first (test agreed with radiology), then consider biopsy"
# An obstetric report whose body never says fetal: only its code or title tells whose anatomy it is.
OB_TEXT = (
    "EXAM: {exam}\nCLINICAL HISTORY: G2P1 at 32 weeks, growth and anatomy follow-up.\nCOMPARISON: None.\n\n"
    "FINDINGS:\nSingle live intrauterine pregnancy, cephalic. Heart rate 146 bpm. Amniotic fluid normal.\n"
    "ANATOMY SURVEY:\nHeart: Normal four-chamber view.\n"
    "Abdomen: 2.4 cm solid mass above the left kidney with punctate calcifications.\nKidneys: Normal.\n\n"
    "IMPRESSION:\n2.4 cm calcified left suprarenal mass; neuroblastoma versus adrenal hemorrhage.\n"
)
MOTHERS_OWN = (
    "EXAM: US RETROPERITONEAL COMPLETE\nCLINICAL HISTORY: 32 weeks pregnant, right flank pain.\n\n"
    "FINDINGS:\nRight kidney: 4.3 cm solid upper pole mass with internal calcification.\n"
    "Left kidney: Normal. Mild pelvicaliectasis, as in pregnancy.\n\n"
    "IMPRESSION:\n4.3 cm calcified right renal mass.\n"
)


def pregnancy():
    return condition("preg-1", code={"coding": [{"system": SCT, "code": "77386006"}], "text": "Pregnancy"})


def coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


OB_LOINC = coded(LOINC, "11525-3", "US Pelvis Fetus for pregnancy")


@pytest.fixture
def answer(live, http):
    return poster(http, live())


def ob_note(code: dict, text: str) -> dict:
    """The obstetric report as a US Core DocumentReference imaging note."""
    return {
        "resourceType": "DocumentReference",
        "id": "note-ob",
        "status": "current",
        "docStatus": "final",
        "type": code,
        "subject": {"reference": "Patient/p1"},
        "date": "2025-01-10T09:00:00Z",
        "content": [{"attachment": attachment(text)}],
    }


@pytest.mark.parametrize(
    "where, code",
    [
        ("report", OB_LOINC),
        ("report", coded(CPT, "76805", "Ultrasound, pregnant uterus, after first trimester, transabdominal")),
        ("report", coded(CPT, "76811", "Ultrasound, pregnant uterus, detailed fetal anatomic examination")),
        ("report", coded(CPT, "76815", "Ultrasound, pregnant uterus, limited")),
        ("note", OB_LOINC),
    ],
    ids=["loinc-11525-3", "cpt-76805", "cpt-76811", "cpt-76815", "document-reference-11525-3"],
)
def test_an_obstetric_study_known_by_its_code_is_not_the_mothers_imaging(answer, where, code):
    text = OB_TEXT.format(exam="US OB FOLLOW-UP")
    report = text_report(text, code=code) if where == "report" else ob_note(code, text)
    result = answer(pregnancy(), condition(body=flank_site()), report)
    assert result["cards"] == [], result["cards"]


@pytest.mark.parametrize(
    "title", ["OB US 2ND TRIMESTER", "US PREGNANT UTERUS DETAILED ANATOMY", "US 2ND TRIMESTER", "US PREGNANCY < 14 WKS"]
)
def test_an_obstetric_study_named_only_by_its_title_is_not_the_mothers_imaging(answer, title):
    report = text_report(OB_TEXT.format(exam=title), code={"text": title})
    result = answer(pregnancy(), condition(body=flank_site()), report)
    assert result["cards"] == [], result["cards"]


@pytest.mark.parametrize(
    "sentence",
    [
        "A 2.2 cm echogenic mass with internal calcification is seen in the left flank of the fetus.",
        "A 2.2 cm calcified fetal left flank mass is incidentally seen.",
        "Incidentally, a 1.8 cm calcified left suprarenal mass is seen in utero.",
        "A 2.5 cm cystic mass with a calcified wall from meconium peritonitis lies in the left flank.",
        "In the fetal abdomen, a 2.2 cm echogenic left flank mass with internal calcification is seen.",
        "The fetal left kidney contains a 2.2 cm solid mass with shadowing calcifications.",
        "In utero, a 2.1 cm calcified left renal mass.",
        "A 2.5 cm cystic mass with a calcified wall in the left flank, consistent with meconium peritonitis.",
        "Twin B: 2.0 cm calcified left flank mass.",
    ],
    ids=[
        "of-the-fetus",
        "fetal-mass",
        "in-utero",
        "meconium",
        "in-the-fetal-abdomen-comma",
        "fetal-kidney-contains",
        "in-utero-comma",
        "consistent-with-meconium",
        "twin-b",
    ],
)
def test_a_fetal_finding_inside_the_mothers_abdominal_report_is_another_subjects(answer, sentence):
    def abdominal(pelvis: str) -> dict:
        findings = f"Right kidney: Normal.\nLeft kidney: Normal.\nPelvis: Gravid uterus partially imaged. {pelvis}"
        return text_report(report_body(findings, impression="See findings.", history="28 weeks pregnant, RUQ pain."))

    assert answer(pregnancy(), abdominal(sentence))["cards"] == []
    # The same place without the fetus: her own calcified flank mass, and a card.
    own = "A 2.2 cm echogenic mass with internal calcification is seen in the left flank."
    assert answer(pregnancy(), abdominal(own))["cards"]


@pytest.mark.parametrize(
    "hook, summary, indicator",
    [("patient-view", ORDER_CT, "info"), ("order-sign", BIOPSY_FIRST, "critical")],
)
def test_the_mothers_own_calcified_renal_mass_still_gets_its_card_beside_an_obstetric_study(
    answer, hook, summary, indicator
):
    ob = text_report(OB_TEXT.format(exam="US OB DETAILED"), rid="ob-1", code=OB_LOINC)
    own = text_report(
        MOTHERS_OWN, rid="us-own", date="2025-01-20T09:00:00Z", code=coded(LOINC, "24531-6", "US Retroperitoneum")
    )
    result = answer(
        pregnancy(),
        ob,
        own,
        hook=hook,
        draft_code=coded(CPT, "49180", "Biopsy, abdominal or retroperitoneal mass, percutaneous needle"),
    )
    [card] = result["cards"]
    assert summary in card["summary"] and card["indicator"] == indicator
    assert "right" in card["summary"] and "left" not in card["summary"], card["summary"]


@pytest.mark.parametrize(
    "title",
    ["US RENAL (NON-OB)", "US KIDNEYS NON-OBSTETRIC", "US RENAL IN PREGNANCY", "US RETROPERITONEUM - PREGNANT PATIENT"],
)
def test_a_title_that_denies_an_obstetric_exam_or_names_her_own_organ_is_the_mothers_imaging(answer, title):
    """A pregnancy word beside one of her organs, or a title that says non-OB, is her own study."""
    own = text_report(MOTHERS_OWN.replace("US RETROPERITONEAL COMPLETE", title), code={"text": title})
    [card] = answer(pregnancy(), own, hook="patient-view")["cards"]
    assert ORDER_CT in card["summary"] and "right" in card["summary"], card["summary"]


def test_in_utero_in_the_history_does_not_hide_the_patients_own_mass(answer):
    text = (
        "EXAM: US RETROPERITONEAL COMPLETE\nCLINICAL HISTORY: Left flank mass. In utero DES exposure history.\n\n"
        "FINDINGS:\nLeft kidney: 6.1 cm heterogeneous solid mass with coarse calcifications.\n\n"
        "IMPRESSION:\n6.1 cm calcified left renal mass.\n"
    )
    [card] = answer(condition(body=flank_site()), text_report(text))["cards"]
    assert "left" in card["summary"] and "before MRI" in card["summary"]


@pytest.mark.parametrize(
    "study",
    [
        {"procedureCode": [coded(CPT, "76811", "Ultrasound, pregnant uterus, detailed fetal anatomic examination")]},
        {"procedureCode": [OB_LOINC]},
        {"description": "US OB DETAILED FETAL ANATOMY"},
    ],
    ids=["cpt-76811", "loinc-11525-3", "description"],
)
def test_a_generic_report_of_an_obstetric_imaging_study_is_not_the_mothers_imaging(answer, study):
    imaging = {
        "resourceType": "ImagingStudy",
        "id": "img-ob",
        "status": "available",
        "subject": {"reference": "Patient/p1"},
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "US"}],
        **study,
    }
    generic = text_report(
        OB_TEXT.format(exam="IMAGING RESULT"), code=coded(LOINC, "18748-4", "Diagnostic imaging study")
    )
    generic["imagingStudy"] = [{"reference": "ImagingStudy/img-ob"}]
    result = answer(pregnancy(), condition(body=flank_site()), imaging, generic)
    assert result["cards"] == [], result["cards"]
