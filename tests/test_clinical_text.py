"""Free-text calcification detection: the wording radiologists use, and the ways they negate it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.clinical import load_knowledge
from cds_service.content import Content

HOOKS = Path(__file__).resolve().parent.parent / "hooks"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(HOOKS, Content.load(HOOKS).schemas)


@pytest.mark.parametrize(
    "text",
    [
        "Solid left flank mass with internal calcification.",
        "Coarse calcifications within the mass.",
        "Partly calcified retroperitoneal mass",
        "Internal echogenic foci with posterior acoustic shadowing.",
        "Several echogenic foci that cast a posterior acoustic shadow",
        "Shadowing echogenic foci in the lower pole",
        "No hydronephrosis. Calcified mass in the left flank.",
        "No mass in the right kidney; the left flank mass contains calcification",
        "Mass without necrosis but with calcification",
        "Mineralised soft-tissue component",
    ],
)
def test_affirmed_calcification(kb, text):
    assert kb.concepts["calcification"].assess(text) == "present"


@pytest.mark.parametrize(
    "text",
    [
        "No calcification.",
        "Solid mass without calcifications.",
        "Non-calcified solid mass.",
        "Noncalcified left flank mass",
        "Uncalcified lesion",
        "No evidence of calcification within the lesion.",
        "Negative for calcification",
        "Calcification is not seen.",
        "Internal calcification was not identified",
        "No internal echogenic foci with shadowing",
        "Solid mass with no calcification",
    ],
)
def test_negated_calcification(kb, text):
    assert kb.concepts["calcification"].assess(text) == "absent"


@pytest.mark.parametrize("text", ["Solid hypoechoic mass.", "", None, "Thyroid nodule, 8 mm."])
def test_calcification_not_mentioned(kb, text):
    assert kb.concepts["calcification"].assess(text) is None


def test_one_affirmed_clause_wins_over_a_negated_one(kb):
    text = "No calcification in the right kidney. Left flank mass with calcification."
    assert kb.concepts["calcification"].assess(text) == "present"
    assert kb.concepts["calcification"].found("No calcification.", "calcified mass")


def test_sites_and_other_regions(kb):
    site, other = kb.concepts["site"], kb.concepts["other-region"]
    assert site.found("US retroperitoneum") and site.found("Left flank survey") and site.found("Renal ultrasound")
    assert not site.found("US thyroid")
    assert other.found("US thyroid") and other.found("Breast ultrasound, left")
    assert not other.found("US abdomen, flank survey")


def test_laterality_words(kb):
    assert kb.concepts["left"].found("Left flank mass") and not kb.concepts["right"].found("Left flank mass")
    assert kb.concepts["bilateral"].found("bilateral flank masses")


def test_remembered_verdicts_are_the_verdicts_and_the_memo_stays_bounded(kb):
    from dataclasses import replace

    from cds_service.clinical import text as text_module

    concept = kb.concepts["mass"]
    labels = ["Left renal mass", "No renal mass", "Essential hypertension", "Rule out flank mass", "mass"]
    fresh = [replace(concept, _verdicts={}).assess(label) for label in labels]
    assert "present" in fresh and fresh.count("present") < len(fresh)  # the labels tell something apart
    remembering = replace(concept, _verdicts={})
    assert [remembering.assess(label) for label in labels * 2] == fresh * 2
    assert set(remembering._verdicts) == set(labels)

    long_label = "renal mass " * 40  # over MAX_REMEMBERED_CHARS: judged every time, never kept
    assert remembering.assess(long_label) == "present" and long_label not in remembering._verdicts
    for n in range(text_module.MAX_REMEMBERED + 10):
        remembering.assess(f"problem {n}")
        assert len(remembering._verdicts) <= text_module.MAX_REMEMBERED
