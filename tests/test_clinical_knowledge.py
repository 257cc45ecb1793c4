"""The knowledge under hooks/knowledge is checked at start-up: a broken file stops the service
with a message naming the file, instead of a 500 (or a wrong card) in front of a clinician."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cds_service import create_app
from cds_service.clinical import load_knowledge
from cds_service.config import Settings
from cds_service.content import Content, ContentError

HOOKS = Path(__file__).resolve().parent.parent / "hooks"


@pytest.fixture
def hooks_copy(tmp_path):
    """A private copy of hooks/ and an edit(file, change) helper for breaking one knowledge file."""
    target = tmp_path / "hooks"
    shutil.copytree(HOOKS, target)

    def edit(stem: str, change) -> Path:
        path = target / "knowledge" / f"{stem}.json"
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc))
        return path

    edit.root = target
    return edit


_SCHEMAS = []


def load(root: Path):
    """The knowledge under root, checked with the shipped schemas (compiled once for the module)."""
    if not _SCHEMAS:
        _SCHEMAS.append(Content.load(HOOKS).schemas)
    return load_knowledge(root, _SCHEMAS[0])


def test_shipped_knowledge_loads():
    kb = load(HOOKS)
    assert set(kb.cards["kinds"]) >= {
        "mri-before-ct",
        "biopsy-before-imaging",
        "ct-missing-precontrast",
        "ct-missing-contrast",
        "order-ct",
    }
    reasons = kb.override_reasons
    assert reasons["system"] == "http://cds.example.org/fhir/CodeSystem/flank-mass-override-reason"
    assert all(kind["overrideReasons"] for kind in kb.cards["kinds"].values())


def _set(path: list, value):
    def change(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "stem,change,expected",
    [
        ("text", _set(["concepts", "calcification", "present"], ["calcif(ication"]), "invalid pattern"),
        ("cards", _set(["kinds", "mri-before-ct", "overrideReasons"], ["no-such-reason"]), "unknown override reason"),
        ("cards", _set(["kinds", "order-ct", "summary"], "x" * 140), "characters when rendered"),
        (
            "cards",
            _set(["kinds", "order-ct", "summary"], "{sideAdj}flank mass: CT please" + " pad" * 28),
            "characters when rendered",
        ),
        ("cards", _set(["kinds", "order-ct", "detail"], "See {evidnce}"), "unknown placeholders"),
        ("cards", _set(["kinds", "order-ct", "detail"], "Broken {template"), "malformed template"),
        ("cards", _set(["kinds", "order-ct", "indicator"], "urgent"), "indicator"),
        (
            "cards",
            _set(["kinds", "order-ct", "source"], {"adult": "nowhere", "pediatric": "nowhere"}),
            "unknown source",
        ),
        (
            "valuesets",
            _set(["valueSets", "calcification", "codes"], [{"system": "http://snomed.info/sct", "code": "18115005"}]),
            "display",
        ),
        ("valuesets", lambda doc: doc["valueSets"].pop("laterality"), "laterality"),
        (
            "orders",
            lambda doc: doc["classes"]["mri"]["codes"].append(
                {"system": "http://www.ama-assn.org/go/cpt", "code": "74170", "display": "dup"}
            ),
            "also in class",
        ),
        ("orders", _set(["precedence"], ["biopsy", "mri"]), "precedence"),
        ("rules", _set(["orders", 0, "card"], "no-such-card"), "unknown card kind"),
        ("rules", _set(["orders", 0, "verdict"], "maybe"), "verdict"),
        ("override-reasons", _set(["reasons", "ct-done-elsewhere"], ""), "ct-done-elsewhere"),
        ("sources", _set(["sources", "acr-soft-tissue-masses", "url"], "ftp://example.org"), "url"),
        ("nlp", _set(["modifiers", 4, "pattern"], "\\b(no"), "modifiers/4: invalid pattern"),
        ("lexicon", _set(["structures", 0, "heads", 0], "mass(es"), "structures/mass/heads: invalid pattern"),
        ("lexicon", _set(["structures", 1, "organ"], "spleenish"), "unknown kind"),
        ("lexicon", _set(["structures", 1, "kind"], "mass"), "each kind once"),
        ("nlp", _set(["modifiers", 0, "category"], "MAYBE"), "MAYBE"),
        ("nlp", _set(["maxNarrativeChars"], 10), "maxNarrativeChars"),
        ("nlp", _set(["sections", "categories", 1, "category"], "addendum"), "each category once"),
    ],
)
def test_broken_knowledge_is_refused_naming_the_file(hooks_copy, stem, change, expected):
    path = hooks_copy(stem, change)
    with pytest.raises(ContentError) as caught:
        load(hooks_copy.root)
    message = str(caught.value)
    assert str(path) in message and expected in message


def test_unreadable_file_is_refused(hooks_copy):
    path = hooks_copy.root / "knowledge" / "cards.json"
    path.write_text("{not json")
    with pytest.raises(ContentError, match="cards.json"):
        load(hooks_copy.root)


def test_the_app_does_not_start_with_broken_knowledge(hooks_copy, tmp_path):
    hooks_copy("rules", _set(["patientView", 0, "card"], "missing-kind"))
    settings = Settings.from_env(
        {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
            "CDS_HOOKS_DIR": str(hooks_copy.root),
        }
    )
    with pytest.raises(ContentError, match="rules.json"):
        create_app(settings)


def test_wording_change_needs_no_code_change(hooks_copy):
    hooks_copy("cards", _set(["kinds", "order-ct", "summary"], "Next: CT abdomen without then with contrast ({side})"))
    kb = load(hooks_copy.root)
    assert kb.cards["kinds"]["order-ct"]["summary"].startswith("Next: CT abdomen")
