"""Hard look-alikes, end to end over HTTP (the fifth blind set's classes): what a naive reader of
"calcified" + "mass" + "flank" gets wrong. Calcium "of" another structure; what another study
reported; a differential or a subjunctive ("were calcification present"); a final report that says
it differs from the preliminary one; a long parenthetical aside about the other side; "the former"
and "the latter"; a palpable mass that is the tip of an organ; an organ's part named by the organ's
adjective ("the splenic lower pole"); an addendum that corrects the side; a skin biopsy near the
flank; and from the sixth set: a verb phrase after "reported as", a negative inversion far from its
cue ("Neither ... could any calcification be demonstrated"), an aside between em dashes, "the
former" after a dash, an "exophytic" liver lesion, and a linked Observation whose component codes
calcification as absent. Each with the positive twin that must keep its card."""

from __future__ import annotations

import pytest

from tests.support.charts import SCT, condition, flank_site, poster, text_report
from tests.test_reading_classes import body


@pytest.fixture
def answer(live, http):
    return poster(http, live())


CASES = [
    # calcium "of" another structure
    (
        "of-the-artery-wall",
        "Right kidney: 4.0 cm solid mass at the renal hilum with calcification of the adjacent renal artery wall.",
        False,
    ),
    ("of-the-aortic-wall", "Left kidney: 4 cm solid mass; calcification of the aortic wall is also noted.", False),
    ("of-the-lesion", "Left kidney: 4 cm solid mass with calcification of the lesion rim.", True),
    # what another study reported is not this ultrasound's finding
    (
        "reported-as-on-outside-ct",
        "Left adrenal: The mass, reported as calcified on the outside CT, shows no sonographic calcification.",
        False,
    ),
    (
        "described-as-on-prior-mri",
        "Left kidney: The 3 cm mass, described as calcified on the prior MRI, is homogeneous without shadowing foci.",
        False,
    ),
    (
        "reported-and-seen-again",
        "Left kidney: The 3 cm mass, reported as calcified on the outside CT, again shows coarse calcification.",
        True,
    ),
    # differential and subjunctive
    (
        "were-calcification-present",
        "Left kidney: 3.6 cm solid mass. No calcification is identified. Differential considerations include renal "
        "cell carcinoma and oncocytoma; were calcification present, a calcified complex cyst would also be considered.",
        False,
    ),
    (
        "had-calcification-been-seen",
        "Left kidney: 3.6 cm solid mass without calcification. Had calcification been seen, neuroblastoma would lead "
        "the differential.",
        False,
    ),
    (
        "differential-then-finding",
        "Left kidney: Differential includes renal cell carcinoma. The 3.6 cm mass contains coarse calcification.",
        True,
    ),
    # a final report that says it differs from the preliminary one
    (
        "final-differs-from-preliminary",
        "Left kidney: 3.6 cm mass with echogenic foci which do not shadow; no definite calcification.\n"
        "Final report differs from the preliminary reading regarding calcification.",
        False,
    ),
    # a long parenthetical aside about the other side
    (
        "parenthetical-other-side",
        "A 2.9 cm hypoechoic left adrenal mass is present (the right adrenal, by contrast, is small and densely "
        "calcified, presumably from remote haemorrhage).",
        False,
    ),
    (
        "parenthetical-own",
        "A 2.9 cm hypoechoic left adrenal mass is present (densely calcified, with a clean acoustic shadow).",
        True,
    ),
    # the former and the latter
    (
        "the-former",
        "A solid lesion arising from the lower pole of the left kidney and a cystic lesion in the spleen are seen, "
        "measuring 3.2 cm and 2.1 cm respectively; the former shows a 6 mm focus of calcification with a clean "
        "posterior acoustic shadow.",
        True,
    ),
    (
        "the-latter",
        "A solid lesion arising from the lower pole of the left kidney and a cystic lesion in the spleen are seen, "
        "measuring 3.2 cm and 2.1 cm respectively; the latter shows a 6 mm focus of calcification with a clean "
        "posterior acoustic shadow.",
        False,
    ),
    # the palpable mass is an organ's tip; an organ's part named by its adjective
    (
        "mass-is-the-splenic-tip",
        "The palpable left flank mass corresponds to the inferior tip of an enlarged spleen. Within the splenic lower "
        "pole is a 2.3 cm echogenic lesion with peripheral calcification, likely a sclerosed haemangioma.",
        False,
    ),
    (
        "renal-lower-pole",
        "Within the left renal lower pole is a 2.3 cm solid lesion with peripheral calcification.",
        True,
    ),
]


CASES += [
    (
        "reported-as-containing",
        "Left kidney: The 4.1 cm interpolar mass, reported as containing calcification on the outside CT, is "
        "homogeneously isoechoic today, without echogenic foci or shadowing.",
        False,
    ),
    (
        "could-any-calcification",
        "Right kidney: A 3.8 cm solid lesion arises from the interpolar cortex. Neither on grayscale nor with "
        "harmonic imaging, despite deliberate interrogation of its margins from two windows, could any calcification "
        "be demonstrated.",
        False,
    ),
    (
        "could-be-demonstrated",
        "Right kidney: A 3.8 cm solid lesion arises from the interpolar cortex. Coarse calcification could be "
        "demonstrated along its posterior margin.",
        True,
    ),
    (
        "em-dash-aside",
        "The left adrenal mass — unlike the right adrenal gland, which is small and densely calcified from remote "
        "haemorrhage — is homogeneously hypoechoic and measures 2.9 cm.",
        False,
    ),
    ("em-dash-own", "The left adrenal mass — densely calcified, with a clean shadow — measures 2.9 cm.", True),
    (
        "dash-the-former",
        "Both the left renal mass (4.0 cm, interpolar) and the gallbladder contain echogenic foci with clean "
        "posterior shadowing - the former a coarse calcification, the latter several small gallstones.",
        True,
    ),
    # what the next sentence says the lesion is (the seventh set)
    (
        "this-is-a-cyst",
        "Left kidney upper pole: 2.8 cm anechoic lesion with thin smooth rim calcification; no solid component. "
        "This is consistent with a minimally complex cyst (Bosniak II).",
        False,
    ),
    (
        "this-is-a-carcinoma",
        "Left kidney: 2.8 cm solid lesion with coarse calcification. This is consistent with a renal cell carcinoma.",
        True,
    ),
    ("this-is-likely-a-cyst", "Left kidney: 2.8 cm lesion with coarse calcification. This is likely a cyst.", True),
    (
        "no-other-mass-then-it",
        "Left kidney: A 3 cm solid mass. No other mass is seen. It contains coarse calcification.",
        True,
    ),
    (
        "exophytic-liver-lesion",
        "The palpable fullness corresponds to a 6.3 cm exophytic lesion of hepatic segment VI which indents the "
        "upper pole of the right kidney and contains curvilinear peripheral calcification. The right kidney is normal.",
        False,
    ),
    (
        "exophytic-renal-lesion",
        "Right kidney: a 6.3 cm exophytic lesion of the upper pole contains curvilinear peripheral calcification.",
        True,
    ),
]


@pytest.mark.parametrize("case, findings, card", CASES, ids=[c[0] for c in CASES])
def test_hard_look_alikes_and_their_twins(answer, case, findings, card):
    result = answer(condition(body=flank_site()), text_report(body(findings)))
    assert bool(result["cards"]) is card, result["cards"]


@pytest.mark.parametrize(
    "addendum, side",
    [
        ("Correction of laterality. The calcified mass described above is in the RIGHT kidney, lower pole.", "right"),
        ("The calcified mass described above is in the right kidney; the left kidney is normal.", "right"),
    ],
)
def test_an_addendum_that_corrects_the_side_moves_the_mass(answer, addendum, side):
    text = body("Left kidney: 4.4 cm solid lower pole mass with coarse calcifications.") + f"\nADDENDUM: {addendum}\n"
    [card] = answer(condition(text="Flank mass", body=flank_site()), text_report(text))["cards"]
    other = "left" if side == "right" else "right"
    assert side in card["summary"] and other not in card["summary"], card["summary"]


@pytest.mark.parametrize(
    "order, card",
    [
        ("Punch biopsy skin lesion, left flank", False),
        ("Shave biopsy of a pigmented lesion, left flank skin", False),
        ("US guided core biopsy left flank mass", True),
    ],
)
def test_a_skin_biopsy_near_the_flank_is_not_a_biopsy_of_the_mass(answer, order, card):
    calcified = body("Left kidney: 4.5 cm solid mass with coarse internal calcifications.")
    result = answer(condition(body=flank_site()), text_report(calcified), draft_code={"text": order})
    assert bool(result["cards"]) is card, result["cards"]


def test_a_linked_observation_coding_calcification_absent_outranks_a_hedge_in_the_text(answer):
    hedged = text_report(body("Left kidney: 3.0 cm solid mass; possible tiny calcification along its margin."))
    hedged["result"] = [{"reference": "Observation/obs-1"}]
    finding = {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "121071"}]},
        "valueCodeableConcept": {"coding": [{"system": SCT, "code": "309088003"}], "text": "Renal mass"},
        "component": [
            {
                "code": {"coding": [{"system": SCT, "code": "18115005"}]},
                "valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000"}], "text": "Absent"},
            }
        ],
    }
    assert not answer(condition(body=flank_site()), hedged, finding, hook="patient-view")["cards"]
    assert answer(condition(body=flank_site()), hedged, hook="patient-view")["cards"]


@pytest.mark.parametrize("which, side", [("latter", "left"), ("former", "right")])
def test_one_and_one_then_the_former_or_the_latter_names_the_side(answer, which, side):
    other = "former" if which == "latter" else "latter"
    findings = (
        "Two solid lesions are identified, one in the interpolar right kidney and one in the left adrenal bed, "
        f"measuring 2.1 cm and 3.4 cm respectively; the {which} contains coarse echogenic foci with sharp posterior "
        f"acoustic shadowing, whereas the {other} is homogeneously isoechoic."
    )
    [card] = answer(condition(text="Flank mass", body=flank_site()), text_report(body(findings)))["cards"]
    wrong = "right" if side == "left" else "left"
    assert side in card["summary"] and wrong not in card["summary"] and "both" not in card["summary"].lower()
