"""Issue 19, class by class, end to end over HTTP: what a report sentence says about which
structure, the report as a document, templates, laterality, depth, transports and order words.

Each case is a chart the way an EHR sends it (problem-list mass, ultrasound report, draft order);
the expectation is the card a radiologist's reading calls for, or silence."""

from __future__ import annotations

import pytest

from tests.support.charts import CPT, LOINC, attachment, condition, flank_site, poster, text_report

MRI_SUMMARY = "CT abdomen without then with contrast should come before MRI"


def body(findings: str) -> str:
    return (
        "EXAM: US RETROPERITONEAL COMPLETE\nCLINICAL HISTORY: Left flank mass.\nCOMPARISON: None.\n\n"
        f"FINDINGS:\nLiver: Normal. No focal lesion.\nSpleen: Normal.\n{findings}\n\nIMPRESSION:\nAs above.\n"
    )


@pytest.fixture
def answer(live, http):
    return poster(http, live())


def carded(answer_body) -> bool:
    return bool(answer_body["cards"])


# (case id, findings lines of the ultrasound report, a card expected)
SENTENCES = [
    # assertion: the clause bounds the cue; negated change presupposes; double negatives are uncertainty
    (
        "comma-opens-new-finding",
        "Left kidney: No hydronephrosis, 4.5 cm solid mass with internal calcifications.",
        True,
    ),
    ("without-then-with", "Left kidney: solid mass without hydronephrosis, with coarse internal calcifications.", True),
    ("negated-growth", "Left kidney: There is no interval growth of the calcified lower pole mass.", True),
    ("not-excluded", "Left kidney: 4 cm solid mass. Calcification within the mass is not excluded.", True),
    ("neither-nor", "Left kidney: Neither a solid mass nor calcification is identified.", False),
    ("devoid-of", "Left kidney: 4 cm solid mass, devoid of calcification.", False),
    ("coordinated-list", "Left kidney: No hydronephrosis, calculi or calcified masses.", False),
    # attribution: calcium of another structure never counts
    (
        "renal-artery",
        "Left kidney: 4.2 cm solid mass. Calcified left renal artery aneurysm adjacent to the mass.",
        False,
    ),
    ("cyst-rim", "Left kidney: 4 cm solid mass, and a separate 1.5 cm cyst with peripheral rim calcification.", False),
    ("milk-of-calcium", "Left kidney: upper pole solid mass. Separate cyst with layering milk of calcium.", False),
    (
        "costal-cartilage",
        "Left flank: 5 cm solid mass abutting the costal cartilage, which is calcified at the rib tip.",
        False,
    ),
    ("gas", "Left kidney: solid mass with echogenic foci showing dirty shadowing and ring-down artifact.", False),
    ("twinkling-alone", "Left kidney: solid mass containing an echogenic focus with twinkling artifact.", False),
    (
        "clean-shadowing",
        "Left kidney: solid mass containing echogenic foci with clean posterior acoustic shadowing.",
        True,
    ),
    ("clips", "Left kidney: 4 cm solid mass. Densely calcified surgical clips in the left renal fossa.", False),
    (
        "stone-identity",
        "Left kidney: echogenic shadowing focus, consistent with a nonobstructing calculus. 4 cm solid mass.",
        False,
    ),
    ("calcified-nodes", "Left kidney: solid mass with adjacent calcified retroperitoneal lymph nodes.", False),
    # sections: any label; history queries are not findings; unknown titles are read
    ("result-title", "Result: 4 cm solid left renal mass with internal calcifications.", True),
    ("imp-abbreviation", "IMP: Left renal mass w/ calcs.", True),
    ("findings-impression", "FINDINGS/IMPRESSION: Calcified 5 cm left adrenal mass.", True),
    # templates are read by value
    ("field-absent", "Left kidney:\nMass: Yes\nSize: 4.1 cm\nCalcification: Absent", False),
    ("checkbox-no", "Left kidney:\nMass: [X] Yes [ ] No\nCalcification: [ ] Yes [X] No", False),
    ("checkbox-yes", "Left kidney:\nMass: [X] Yes [ ] No\nCalcification: [X] Yes [ ] No", True),
    ("table-none", "Lesion | Location | Size | Calcification\n1 | left kidney lower pole | 3.2 cm | none", False),
    ("table-yes", "Lesion | Location | Size | Calcification\n1 | left kidney lower pole | 3.2 cm | yes, coarse", True),
    # depth: a superficial lesion is not the deep flank mass
    ("subcutaneous", "Left flank: 2 cm calcified lesion within the subcutaneous fat.", False),
    ("intramuscular", "Left flank: 6 cm intramuscular mass with coarse calcifications, deep to the fascia.", True),
    # document wording: removed or resolved is not a current finding
    ("resected", "Left kidney: The previously described calcified mass has been resected. No residual mass.", False),
    ("status-post", "Status post left nephrectomy for a calcified renal mass. The left renal fossa is empty.", False),
    # shorthand
    ("shorthand", "L kidney: 4 cm solid lesion w/ echogenic foci w/ post shadowing c/w calcs.", True),
]


@pytest.mark.parametrize("case, findings, card", SENTENCES, ids=[c[0] for c in SENTENCES])
def test_what_a_sentence_says_about_which_structure(answer, case, findings, card):
    result = answer(condition(body=flank_site()), text_report(body(findings)))
    assert carded(result) is card, result["cards"]


@pytest.mark.parametrize(
    "history",
    [
        "Hx: L flank mass, calcified mass on outside US?",
        "Clinical details: ?calcified left renal mass",
        "Question: calcified left adrenal mass",
    ],
)
def test_a_history_line_query_is_not_a_finding(answer, history):
    text = f"{history}\nFINDINGS:\nLeft kidney: 4 cm solid mass. No calcification.\n"
    assert not carded(answer(condition(body=flank_site()), text_report(text)))


def test_findings_after_a_one_line_indication_are_read(answer):
    text = "Indication: flank pain.\nThe left kidney contains a 4 cm mass with coarse calcifications.\n"
    assert carded(answer(condition(body=flank_site()), text_report(text)))


# -- the report as a document ---------------------------------------------------------------------
def _study(sid="us-study-1", **extra):
    study = {"resourceType": "ImagingStudy", "id": sid, "status": "available", "subject": {"reference": "Patient/p1"}}
    study.update(extra)
    return study


CALCIFIED = "Left kidney: 4.5 cm solid mass with coarse internal calcifications."
NOT_CALCIFIED = "Left kidney: 4.5 cm solid mass. No internal calcification."


def test_the_final_report_replaces_the_preliminary_one(answer):
    study = [{"reference": "ImagingStudy/us-study-1"}]
    prelim = text_report(body(CALCIFIED), rid="prelim", status="preliminary", date="2026-10-01T09:00:00Z")
    final = text_report(body(NOT_CALCIFIED), rid="final", date="2026-10-01T09:00:00Z")
    prelim["imagingStudy"] = final["imagingStudy"] = study
    prelim["issued"], final["issued"] = "2026-10-01T10:00:00Z", "2026-10-02T10:00:00Z"
    assert not carded(answer(condition(body=flank_site()), prelim, final))
    final["presentedForm"] = [attachment(body(CALCIFIED))]
    assert carded(answer(condition(body=flank_site()), prelim, final))


def test_an_amendment_in_the_text_outranks_the_original_kept_below_it(answer):
    text = (
        "AMENDED REPORT:\nCorrection: there is no calcification within the left renal mass; the echogenic "
        "focus is a nonobstructing calculus.\n\nORIGINAL REPORT:\n" + body(CALCIFIED)
    )
    assert not carded(answer(condition(body=flank_site()), text_report(text, status="amended")))


def test_an_addendum_can_retract_or_add_the_calcification(answer):
    retract = body(CALCIFIED) + (
        "\nADDENDUM: On review, the echogenic focus previously described represents a calcified renal artery "
        "aneurysm, not calcification within the mass.\n"
    )
    assert not carded(answer(condition(body=flank_site()), text_report(retract)))
    add = body(NOT_CALCIFIED) + "\nADDENDUM: On second review, punctate calcification is present within the mass.\n"
    assert carded(answer(condition(body=flank_site()), text_report(add)))


def test_a_future_dated_report_never_outweighs_the_real_ones(answer):
    real = text_report(body(CALCIFIED), rid="real", date="2026-10-01T09:00:00Z")
    typo = text_report(body("Left kidney: No mass."), rid="typo", date="2062-10-03T09:00:00Z")
    assert carded(answer(condition(body=flank_site()), real, typo))


def test_a_ct_only_registered_is_not_a_ct_done(answer):
    ct = _study(
        "ct-1",
        status="registered",
        modality=[{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
        procedureCode=[{"coding": [{"system": CPT, "code": "74170"}], "text": "CT ABDOMEN W WO"}],
    )
    result = answer(condition(body=flank_site()), text_report(body(CALCIFIED)), ct)
    assert [c["summary"] for c in result["cards"] if MRI_SUMMARY in c["summary"]]


# -- where the report lives and how the study is coded ---------------------------------------------
def _note(text: str, **extra):
    note = {
        "resourceType": "DocumentReference",
        "id": "note-1",
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}]},
        "subject": {"reference": "Patient/p1"},
        "date": "2026-10-01T09:00:00Z",
        "description": "US RETROPERITONEAL COMPLETE",
        "content": [{"attachment": attachment(text)}],
    }
    note.update(extra)
    return note


def test_a_report_sent_as_a_document_reference_is_read(answer):
    assert carded(answer(condition(body=flank_site()), _note(body(CALCIFIED))))
    assert not carded(answer(condition(body=flank_site()), _note(body(NOT_CALCIFIED))))


def test_a_document_reference_that_replaces_or_appends(answer):
    old = _note(body(CALCIFIED), id="note-old")
    new = _note(
        body(NOT_CALCIFIED),
        id="note-new",
        relatesTo=[{"code": "replaces", "target": {"reference": "DocumentReference/note-old"}}],
    )
    assert not carded(answer(condition(body=flank_site()), old, new))
    addendum = _note(
        "On review, the echogenic focus previously described is a renal artery calcification, not within the mass.",
        id="note-add",
        relatesTo=[{"code": "appends", "target": {"reference": "DocumentReference/note-old"}}],
    )
    assert not carded(answer(condition(body=flank_site()), old, addendum))


@pytest.mark.parametrize(
    "study",
    [
        _study(procedureCode=[{"coding": [{"system": CPT, "code": "76770"}]}]),
        _study(description="US RETROPERITONEAL COMPLETE"),
    ],
    ids=["procedure-code-only", "description-only"],
)
def test_an_ultrasound_coded_only_by_procedure_or_description(answer, study):
    generic = text_report(
        "FINDINGS:\n" + CALCIFIED, code={"coding": [{"system": LOINC, "code": "18748-4"}], "text": "Imaging report"}
    )
    generic["imagingStudy"] = [{"reference": f"ImagingStudy/{study['id']}"}]
    assert carded(answer(condition(body=flank_site()), study, generic))


# -- laterality ---------------------------------------------------------------------------------------
def test_the_card_names_the_side_of_the_calcified_mass(answer):
    right = condition(
        text="Right flank mass",
        body=[{"coding": [{"system": "http://snomed.info/sct", "code": "58602004"}], "text": "Right flank"}],
    )
    text = body("Right kidney: 2 cm simple cyst.\nLeft kidney: 4.5 cm solid mass with coarse calcifications.")
    [card] = answer(right, text_report(text))["cards"]
    assert "left" in card["summary"] and "right" not in card["summary"]
    assert "right" in card["detail"] and "problem list" in card["detail"].lower()


def test_a_worksheet_location_field_gives_the_side(answer):
    text = "FINDINGS:\nLesion: Yes\nLocation: right suprarenal\nSize: 3.1 cm\nCalcification: Present\n"
    [card] = answer(condition(text="Flank mass", body=flank_site()), text_report(text))["cards"]
    assert "right" in card["summary"]


# -- order words ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, summary",
    [
        ("MR UROGRAPHY W WO CONTRAST", MRI_SUMMARY),
        ("CNB LEFT RENAL MASS", "image it with CT before any biopsy"),
        ("US GUIDED TRU-CUT BX LEFT FLANK MASS", "image it with CT before any biopsy"),
        ("CT A/P W WO CONTRAST", None),
    ],
)
def test_order_words_as_clinicians_write_them(answer, text, summary):
    result = answer(condition(body=flank_site()), text_report(body(CALCIFIED)), draft_code={"text": text})
    if summary is None:
        assert result["cards"] == []
    else:
        assert [c for c in result["cards"] if summary in c["summary"]], result["cards"]
