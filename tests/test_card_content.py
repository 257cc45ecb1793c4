"""Card content per patient group and the draft order's name (issue 10 item 7), over HTTP.

An adult's card links and cites only sources written for adults, a child's only those for
children (each source's `audience` in hooks/knowledge/sources.json, checked at start-up), and
the draft order is named once, not as its text and every coding display joined together.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.clinical import load_knowledge
from cds_service.config import REPO_ROOT
from cds_service.content import Content, ContentError
from cds_service.pipeline import render
from tests.test_ratings import _case

SOURCES = json.loads((REPO_ROOT / "hooks" / "knowledge" / "sources.json").read_text())["sources"]
ADULT_ONLY = {sid for sid, s in SOURCES.items() if s["audience"] == ["adult"]}
CHILD_ONLY = {sid for sid, s in SOURCES.items() if s["audience"] == ["pediatric"]}


def _cited(card: dict) -> set[str]:
    """Every source a card names: its source, its links, and the labels in its Sources line."""
    named = {
        sid
        for sid, s in SOURCES.items()
        if s["label"] == card["source"]["label"]
        or s["label"] in card["detail"]
        or any(link["url"] == s.get("url") for link in card.get("links", ()))
    }
    return named


@pytest.mark.parametrize(
    "name, group, foreign",
    [
        ("adult-left-coded-conclusion-mri", "adult", CHILD_ONLY),
        ("adult-order-sign-mri-and-biopsy", "adult", CHILD_ONLY),
        ("child-right-observation-mri", "pediatric", ADULT_ONLY),
        ("child-condition-evidence-patient-view", "pediatric", ADULT_ONLY),
    ],
)
def test_cards_cite_and_link_only_sources_for_the_patients_group(live, http, name, group, foreign):
    assert foreign, "sources.json must have group-specific sources for this test to mean anything"
    service, body = _case(name)
    cards = http.post(f"{live()}/cds-services/{service}", json=body).json()["cards"]
    assert cards
    for card in cards:
        cited = _cited(card)
        assert cited, card
        assert not cited & foreign, f"{group} card cites {sorted(cited & foreign)}"
        assert all(group in SOURCES[sid]["audience"] for sid in cited)


def test_the_draft_order_is_named_once(live, http):
    service, body = _case("adult-left-coded-conclusion-mri")
    code = body["context"]["draftOrders"]["entry"][0]["resource"]["code"]
    [card] = http.post(f"{live()}/cds-services/{service}", json=body).json()["cards"]
    assert f"the draft order is {code['text']}. " in card["detail"]
    assert code["coding"][0]["display"] not in card["detail"]
    del code["text"]  # no text: the first coding's display, alone
    [card] = http.post(f"{live()}/cds-services/{service}", json=body).json()["cards"]
    assert f"the draft order is {code['coding'][0]['display']}. " in card["detail"]


def test_a_card_that_would_link_a_source_for_the_other_group_stops_start_up(tmp_path):
    hooks = tmp_path / "hooks"
    shutil.copytree(REPO_ROOT / "hooks", hooks)
    path = hooks / "knowledge" / "cards.json"
    doc = json.loads(path.read_text())
    doc["kinds"]["mri-before-ct"]["links"]["adult"].append(sorted(CHILD_ONLY)[0])
    path.write_text(json.dumps(doc))
    content = Content.load(hooks)
    with pytest.raises(ContentError, match="is not for adult patients"):
        load_knowledge(hooks, content.schemas)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(["\n", "a", " ", "\r", "\t", "b"]), max_size=40))
def test_blank_lines_left_by_empty_parts_collapse_as_the_regex_did(text):
    """render._paragraphs gives what re.sub(r"\\n{3,}", "\\n\\n", ...).strip() gives, for any input."""
    assert render._paragraphs(text) == re.sub(r"\n{3,}", "\n\n", text).strip()
