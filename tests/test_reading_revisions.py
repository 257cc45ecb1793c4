"""A report that corrects itself, end to end over HTTP (the second blind set's classes): wording that
withdraws a statement, a contrast that denies what follows it ("a calculus rather than
calcification"), an addendum whose last word on the calcification stands, and a lesion the report
identifies as something that is not a mass (a column of Bertin, a splenule), which lets a newer
report supersede an older calcified finding. Each case is the class, in several wordings; hedged
wordings keep the finding (uncertainty counts)."""

from __future__ import annotations

import pytest

from tests.support.charts import condition, flank_site, poster, text_report
from tests.test_reading_classes import CALCIFIED, body


@pytest.fixture
def answer(live, http):
    return poster(http, live())


def carded(result) -> bool:
    return bool(result["cards"])


WITHDRAWN = [
    # (id, findings after the mass's own sentence, a card expected)
    ("is-withdrawn", "The reference to internal calcification in the original report is withdrawn.", False),
    ("was-carry-over", "The sentence describing calcification within the mass was a template carry-over.", False),
    ("erroneously-described", "The prior dictation erroneously described calcification within the mass.", False),
    ("disregard", "Please disregard the mention of calcification within the mass.", False),
    ("dictated-in-error", "The calcification within the mass was dictated in error.", False),
    ("rather-than", "The shadowing focus is a calyceal calculus rather than calcification within the mass.", False),
    (
        "instead-of",
        "The shadowing focus is a stone in the adjacent calyx, instead of calcification in the mass.",
        False,
    ),
    ("contrast-keeps-what-precedes", "The mass contains coarse calcification rather than a stone.", True),
    ("not-withdrawn", "Coarse calcification within the mass is again noted.", True),
]


@pytest.mark.parametrize("case, sentence, card", WITHDRAWN, ids=[c[0] for c in WITHDRAWN])
def test_wording_that_withdraws_or_contrasts_away_a_calcification(answer, case, sentence, card):
    text = body(f"Left kidney: 4.5 cm solid lower pole mass. {sentence}")
    assert carded(answer(condition(body=flank_site()), text_report(text))) is card


@pytest.mark.parametrize(
    "addendum, card",
    [
        (
            "On review of the initial images, calcification within the mass was suspected. "
            "On the cine clips the mass itself contains no calcification.",
            False,
        ),
        (
            "On review, no calcification was seen within the mass on the initial images. "
            "On the cine clips, punctate calcification is present within the mass.",
            True,
        ),
    ],
    ids=["last-word-denies", "last-word-affirms"],
)
def test_an_addendums_last_word_on_the_calcification_stands(answer, addendum, card):
    text = body(CALCIFIED) + f"\nADDENDUM: {addendum}\n"
    assert carded(answer(condition(body=flank_site()), text_report(text))) is card


IDENTIFIED = [
    ("column-of-bertin", "The previously questioned upper pole lesion represents a prominent column of Bertin.", False),
    ("dromedary-hump", "The questioned left renal lesion corresponds to a dromedary hump.", False),
    ("fetal-lobulation", "The lesion seen at the urgent care visit is in keeping with fetal lobulation.", False),
    ("pseudotumour", "The previously described lesion is a pseudotumour.", False),
    ("hedged", "The previously questioned lesion may represent a column of Bertin.", True),
    ("likely", "The lesion likely represents a column of Bertin; follow-up advised.", True),
]


@pytest.mark.parametrize("case, sentence, card", IDENTIFIED, ids=[c[0] for c in IDENTIFIED])
def test_a_lesion_identified_as_a_normal_variant_lets_the_newer_report_supersede(answer, case, sentence, card):
    older = text_report(body(CALCIFIED), rid="us-old", date="2026-09-10T09:00:00Z")
    newer = text_report(
        body(f"Left kidney: 11.6 cm. {sentence} No other left renal abnormality."),
        rid="us-new",
        date="2026-11-20T09:00:00Z",
    )
    assert carded(answer(condition(body=flank_site()), older, newer)) is card


def test_a_palpable_lump_that_is_a_splenule_is_not_a_mass(answer):
    text = body("Left upper quadrant: The palpable lump is a 2.8 cm splenule with a calcified focus.")
    assert not carded(answer(condition(body=flank_site()), text_report(text)))


@pytest.mark.parametrize(
    "header",
    ["ADDENDUM 11/21/2026:", "Addendum by Dr Lee, 21 Nov 2026 10:15:", "ADDENDUM 2 11/21/2026\n", "*** ADDENDUM ***\n"],
)
def test_an_addendum_header_with_a_date_an_author_or_a_time_opens_the_addendum(answer, header):
    text = body(CALCIFIED) + (
        f"\n{header} On review with colour Doppler, the shadowing focus is the calcified wall of a segmental "
        "renal artery. The mass itself is not calcified.\n"
    )
    assert not carded(answer(condition(body=flank_site()), text_report(text)))
