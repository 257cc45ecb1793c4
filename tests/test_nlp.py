"""The narrative NLP stage on its own: policy, sections, ties, caps, cache, and linear work."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.clinical import load_knowledge
from cds_service.clinical.nlp import Pipeline
from cds_service.clinical.reading import DigestCache, Reader, Reading
from cds_service.content import Content

HOOKS = Path(__file__).resolve().parent.parent / "hooks"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(HOOKS, Content.load(HOOKS).schemas)


@pytest.fixture(scope="module")
def reader(kb):
    return kb.reader


def test_calcified_flank_mass_with_side_and_size(reader):
    reading = reader.read(
        "FINDINGS:\nRight kidney: There is a 52 mm solid mass.\nIt contains echogenic foci with "
        "posterior acoustic shadowing.\nIMPRESSION: Right renal mass."
    )
    [first, second] = reading.region_masses()
    assert first.calcified and first.side == "right" and first.size_cm == pytest.approx(5.2)
    assert not second.calcified


@pytest.mark.parametrize(
    "text",
    [
        "INDICATION: calcified left renal mass.\nFINDINGS: Kidneys normal.",
        "HISTORY: calcified retroperitoneal mass.",
        "REASON FOR EXAM: r/o calcified renal mass",
        "TECHNIQUE: calcified flank mass protocol",
    ],
)
def test_sections_that_do_not_count(reader, text):
    assert reader.read(text).region_masses() == []


def test_organ_headings_place_the_mass(reader):
    reading = reader.read("Liver: 2 cm calcified lesion.\nLeft kidney: 3 cm mass with calcification.")
    assert [(m.region, m.side, m.calcified) for m in reading.masses] == [("other", None, True), ("flank", "left", True)]


def test_no_mass_statements_by_side(reader):
    assert reader.read("Right kidney: No mass or hydronephrosis.").no_mass == {"right"}
    assert reader.read("IMPRESSION: No discrete mass.").no_mass == {None}
    assert reader.read("Liver: no focal lesion.").no_mass == frozenset()


def test_short_labels_use_the_same_context_rules(kb):
    mass = kb.concepts["mass"]
    assert mass.assess("Left flank mass") == "present"
    assert mass.assess("No flank mass") == "absent"
    assert mass.assess("Rule out flank mass") == "absent"
    assert mass.assess("Possible flank mass") == "present"


def test_narrative_is_cut_at_the_documented_length_and_logged(kb, caplog):
    pipeline = kb.reader.pipeline
    text = "Left kidney: 5 cm mass. " * 50 + "x" * pipeline.max_chars + " Left renal mass with calcification."
    with caplog.at_level("INFO", logger="cds_service.nlp"):
        analysis = pipeline.analyse(text)
    assert analysis.truncated and len(analysis.text) == pipeline.max_chars
    assert "cut to" in caplog.text


def test_cache_is_bounded_by_count_and_bytes():
    cache = DigestCache(entries=3, max_bytes=1000)
    for i in range(10):
        cache.put(bytes([i]), Reading(), 100)
    assert len(cache) == 3 and cache.bytes == 300
    cache = DigestCache(entries=100, max_bytes=250)
    for i in range(10):
        cache.put(bytes([i]), Reading(), 100)
    assert len(cache) == 2 and cache.bytes <= 250


def test_repeated_narrative_is_read_once(kb):
    reader = Reader(kb.raw["nlp"], kb.reader.pipeline, kb.reader.sides)
    text = "Left kidney: 4 cm mass with calcification."
    first = reader.read(text)
    assert reader.read(text) is first and len(reader.cache) == 1


def test_pipeline_is_built_once_across_threads(kb):
    pipeline = Pipeline(kb.raw["nlp"])
    built = []
    original = pipeline._build

    def counting():
        built.append(1)
        return original()

    pipeline._build = counting
    threads = [threading.Thread(target=pipeline.analyse, args=("Left renal mass.",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert built == [1]


def test_adversarial_repetition_is_cut_not_quadratic(kb):
    pipeline = kb.reader.pipeline
    spec = kb.raw["nlp"]
    analysis = pipeline.analyse("no calcification " * 16000)
    assert analysis.truncated and len(analysis.text) == spec["maxNarrativeChars"]
    assert analysis.analysed <= spec["maxSentences"]
    # ConText pairs targets and modifiers within a sentence only, and sentences are bounded
    assert all(s.end - s.start <= spec["maxSentenceTokens"] * 20 for s in analysis.sentences)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.sampled_from(
            [
                "no",
                "calcification",
                "mass",
                "left",
                "renal",
                "without",
                "possible",
                ".",
                ";",
                "\n",
                "if",
                "evaluate",
                "for",
                "FINDINGS:",
                "calcified",
                "not",
                "seen",
            ]
        ),
        min_size=1,
        max_size=40,
    ),
    repeat=st.integers(min_value=1, max_value=4000),
)
def test_work_is_linear_in_the_input_and_capped(kb, words, repeat):
    """Whatever the text, the costly stage sees at most maxSentences sentences of at most
    maxSentenceTokens tokens, over at most maxNarrativeChars characters."""
    spec = kb.raw["nlp"]
    text = " ".join(words * repeat)
    analysis = kb.reader.pipeline.analyse(text)
    assert len(analysis.text) <= spec["maxNarrativeChars"]
    assert analysis.analysed <= spec["maxSentences"]
    assert len(analysis.mentions) <= spec["maxSentences"] * spec["maxSentenceTokens"]
    assert analysis.truncated == (len(text) > spec["maxNarrativeChars"]) or analysis.analysed == spec["maxSentences"]


def test_vocabulary_growth_is_bounded_by_rebuilding(kb, monkeypatch):
    from cds_service.clinical import nlp as nlp_module

    pipeline = Pipeline(kb.raw["nlp"])
    pipeline.analyse("Left renal mass.")
    first = pipeline.nlp
    monkeypatch.setattr(nlp_module, "MAX_VOCABULARY", len(first.vocab.strings) + 50)
    pipeline.analyse(" ".join(f"mass{i}x calcification" for i in range(200)))
    assert pipeline.nlp is not first
    assert pipeline.analyse("Left renal mass with calcification.").mentions


def test_short_label_analysis_is_capped(kb):
    """Issue 11 item 4 for coded labels too: only maxLabelChars of a label are read."""
    concept, cap = kb.concepts["calcification"], kb.raw["nlp"]["maxLabelChars"]
    assert concept.assess("No calcification. " * 16000) == "absent"
    assert concept.assess("x" * cap + " calcified mass") is None
    assert concept.assess("No hydronephrosis. " * 5 + "Calcified mass.") == "present"
