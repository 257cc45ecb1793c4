"""The report reader's guarantees beyond its verdicts: the policy in one place, bounded work,
a bounded cache, one pipeline per process, a bounded vocabulary."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.clinical import load_knowledge
from cds_service.clinical.reading import assertions as assertions_module
from cds_service.clinical.reading.assertions import Assertor
from cds_service.clinical.reading.reader import DigestCache, Reader, Reading
from cds_service.content import Content

HOOKS = Path(__file__).resolve().parent.parent / "hooks"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(HOOKS, Content.load(HOOKS).schemas)


@pytest.fixture(scope="module")
def reader(kb):
    return kb.reader


def test_calcified_flank_mass_with_side_size_and_the_sentences_that_say_so(reader):
    reading = reader.read(
        "FINDINGS:\nRight kidney: There is a 52 mm solid mass.\nIt contains echogenic foci with "
        "posterior acoustic shadowing.\nIMPRESSION: Right renal mass."
    )
    [first, second] = reading.region_masses()
    assert first.calcified and first.side == "right" and first.size_cm == pytest.approx(5.2)
    assert first.phrase == "Right kidney: There is a 52 mm solid mass."
    assert first.calcium_phrase == "Right kidney: It contains echogenic foci with posterior acoustic shadowing."
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


def test_narrative_is_cut_at_the_documented_length_and_logged(reader, caplog):
    text = "Left kidney: 5 cm mass. " * 50 + "x" * reader.max_chars + " Left renal mass with calcification."
    with caplog.at_level("INFO", logger="cds_service.reading"):
        reading = reader.read(text)
    assert reading.truncated and not reading.calcified_masses()
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
    reader = Reader(kb.raw["nlp"], kb.raw["lexicon"])
    text = "Left kidney: 4 cm mass with calcification."
    first = reader.read(text)
    assert reader.read(text) is first and len(reader.cache) == 1


def test_pipeline_is_built_once_across_threads(kb):
    assertor = Assertor(kb.raw["nlp"])
    built = []
    original = assertor._build

    def counting():
        built.append(1)
        return original()

    assertor._build = counting
    threads = [threading.Thread(target=assertor.sentences, args=("Left renal mass.",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert built == [1]


def test_adversarial_repetition_is_cut_not_quadratic(reader, kb):
    spec = kb.raw["nlp"]
    reading = reader.read("no calcification " * 16000)
    assert reading.truncated and reading.analysed <= spec["maxSentences"]


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
                "Calcification:",
                "[X]",
                "|",
                "with",
                ",",
            ]
        ),
        min_size=1,
        max_size=40,
    ),
    repeat=st.integers(min_value=1, max_value=4000),
)
def test_work_is_linear_in_the_input_and_capped(kb, words, repeat):
    """Whatever the text, the costly steps see at most maxSentences sentences of at most
    maxSentenceTokens tokens, over at most maxNarrativeChars characters."""
    spec = kb.raw["nlp"]
    reader = Reader(spec, kb.raw["lexicon"])
    text = " ".join(words * repeat)
    reading = reader.read(text)
    assert reading.analysed <= spec["maxSentences"]
    assert len(reading.masses) <= spec["maxSentences"] * spec["maxSentenceTokens"]
    if len(text) > spec["maxNarrativeChars"] and reader.relevant(text[: spec["maxNarrativeChars"]]):
        assert reading.truncated


def test_vocabulary_growth_is_bounded_by_rebuilding(kb, monkeypatch):
    assertor = Assertor(kb.raw["nlp"])
    assertor.sentences("Left renal mass.")
    first = assertor.nlp
    monkeypatch.setattr(assertions_module, "MAX_VOCABULARY", len(first.vocab.strings) + 50)
    assertor.sentences(" ".join(f"mass{i}x calcification" for i in range(200)))
    assert assertor.nlp is not first
    assert assertor.categories("No renal mass.", [(3, 13)]) == [frozenset({"NEGATED_EXISTENCE"})]


def test_short_label_analysis_is_capped(kb):
    """Only maxLabelChars of a coded label are read."""
    concept, cap = kb.concepts["calcification"], kb.raw["nlp"]["maxLabelChars"]
    assert concept.assess("No calcification. " * 16000) == "absent"
    assert concept.assess("x" * cap + " calcified mass") is None
    assert concept.assess("No hydronephrosis. " * 5 + "Calcified mass.") == "present"
