"""Which structure a sentence is about, end to end over HTTP (the third blind set's classes): a
neighbour named through a verb ("indents the upper pole of the right kidney") is a landmark, not
where the mass sits; a relative clause with a parenthetical still describes the noun before it; a
clause that ends by saying what its calcium is ("…, in keeping with phleboliths") gives it to that
structure however far; a place written after the mass without a preposition ("mass lower pole") is
the mass's place, not a compound noun that swallows the mass. Each class in several wordings, with
the positive twin that must keep its card."""

from __future__ import annotations

import pytest

from tests.support.charts import condition, flank_site, poster, text_report
from tests.test_reading_classes import body


@pytest.fixture
def answer(live, http):
    return poster(http, live())


CASES = [
    # a neighbour reached through a verb is a landmark of the clause
    (
        "indents",
        "Liver: A 5.6 cm mass in segment 6, which indents the upper pole of the right kidney, contains coarse "
        "calcifications with shadowing (fibrolamellar HCC vs calcified metastasis).\nRight kidney: normal.",
        False,
    ),
    (
        "abuts",
        "Liver: A 4 cm mass in the right lobe abuts the upper pole of the right kidney (calcified metastasis vs "
        "haemangioma).\nRight kidney: normal.",
        False,
    ),
    (
        "displaces",
        "Spleen: A 5 cm calcified splenic mass displaces the upper pole of the left kidney inferiorly.",
        False,
    ),
    (
        "renal-mass-indents-liver",
        "Right kidney: A 5 cm upper pole renal mass with coarse calcifications indents the inferior surface of the "
        "liver.",
        True,
    ),
    # a relative clause describes the noun right before it, a parenthetical between or not
    (
        "which-like",
        "Left adrenal: A 2.6 cm hypoechoic mass lies just posterior to the pancreatic tail, which, like the head "
        "and body, contains coarse calcifications of chronic pancreatitis.",
        False,
    ),
    (
        "which-also",
        "Left kidney: A 3 cm solid mass lies anterior to the left psoas, which also contains coarse calcification.",
        False,
    ),
    # a clause that ends by naming what its calcium is
    (
        "in-keeping-with-phleboliths",
        "Left flank: 3.8 cm solid mass.\nSeveral small shadowing echogenic foci lie deep in the left hemipelvis "
        "along the course of the pelvic veins, in keeping with phleboliths.",
        False,
    ),
    (
        "consistent-with-calculi",
        "Left kidney: 4 cm solid mass at the upper pole.\nTwo shadowing echogenic foci are seen in the lower pole "
        "collecting system of the left kidney, consistent with non-obstructing calculi.",
        False,
    ),
    (
        "in-keeping-with-calcification",
        "Left kidney: 4 cm solid mass. It contains shadowing echogenic foci, in keeping with calcification.",
        True,
    ),
    # a place after the mass without a preposition
    ("mass-lower-pole", "L kidney: 3.1 cm exophytic solid mass lower pole w/ coarse calcs + PAS.", True),
    ("lesion-upper-pole", "Lt kidney: 2.8 cm hyperechoic lesion upper pole with calcific foci.", True),
    ("lower-pole-mass", "Left kidney: 3.1 cm lower pole mass, no calcification.", False),
]


@pytest.mark.parametrize("case, findings, card", CASES, ids=[c[0] for c in CASES])
def test_which_structure_a_sentence_is_about(answer, case, findings, card):
    result = answer(condition(body=flank_site()), text_report(body(findings)))
    assert bool(result["cards"]) is card, result["cards"]
