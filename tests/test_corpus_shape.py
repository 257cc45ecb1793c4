"""The labelled evaluation corpus (fixtures/corpus/) is well-formed: every chart is a schema-valid
CDS Hooks request for its service, every FHIR resource in it is valid R4, its label uses the card
kinds, indicators and verdicts the knowledge defines, narratives decode in their declared charset,
and the committed files are exactly what fixtures/corpus/build.py writes.

This checks the corpus itself; whether the engine reaches its labels is `cds-service eval`'s job."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds_service.content import Schemas
from cds_service.evaluation.corpus import LABEL_ALIASES

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "fixtures" / "corpus"
CHARTS = sorted(CORPUS.glob("*.json"))
SCHEMAS = Schemas(REPO / "hooks" / "schemas")
SERVICES = {
    d["discovery"]["id"]: d["discovery"]
    for d in (json.loads(p.read_text()) for p in (REPO / "hooks" / "services").glob("*.json"))
}
CARDS = json.loads((REPO / "hooks" / "knowledge" / "cards.json").read_text())["kinds"]
# The ratings' one vocabulary, plus the older label word the evaluation still reads as its alias.
VERDICTS = set(json.loads((REPO / "hooks" / "knowledge" / "rules.json").read_text())["verdicts"]) | set(LABEL_ALIASES)
CLASSES = {
    "narrative-plain",
    "narrative-html",
    "narrative-rtf",
    "narrative-binary-url",
    "narrative-textdiv-conclusion",
    "assertion",
    "tied-to-mass",
    "report-only-mass",
    "site-precision",
    "weak-ultrasound",
    "order-names",
    "recency",
    "coded",
    "demographics",
    "assertion-scope",
    "attribution",
    "section",
    "document-status",
    "template",
    "laterality",
    "depth",
    "transport",
    "vocabulary-orders",
    "pregnancy",
    "newborn",
    "missing-data",
    "other-subject",
}
# The label-policy ids: the README's "Decisions" table, one "| `id` | rule |" row each.
DECISIONS = re.findall(
    r"^\| `([a-z][a-z0-9.-]*)` \|",
    (CORPUS / "README.md").read_text(encoding="utf-8").split("## Decisions", 1)[1],
    re.MULTILINE,
)
SIDES = {"left", "right", "bilateral", "unspecified"}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def r4_valid(resource: dict) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def charset_of(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset":
            return value
    return "utf-8"


def test_the_build_script_wrote_the_committed_files():
    done = subprocess.run([sys.executable, str(CORPUS / "build.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def is_positive(doc: dict) -> bool:
    """The chart's flank-mass evidence stands: a card, or a draft rated on it."""
    verdicts = set(doc["expect"].get("verdicts", {}).values())
    return bool(doc["expect"]["cards"]) or bool({"appropriate", "not-appropriate"} & verdicts)


def test_every_class_has_positives_and_negatives():
    docs = [load(p) for p in CHARTS]
    assert len(docs) >= 310
    positive = Counter(d["class"] for d in docs if is_positive(d))
    negative = Counter(d["class"] for d in docs) - positive
    for cls in CLASSES:
        assert positive[cls] + negative[cls] >= 6, cls
        assert positive[cls] and negative[cls], cls
    assert sum(negative.values()) * 2 >= len(docs), "at least half the charts are look-alikes"


def test_every_decision_is_listed_and_followed_by_a_chart():
    assert len(DECISIONS) == len(set(DECISIONS)) >= 30
    used = Counter(load(p)["decision"] for p in CHARTS)
    assert set(used) <= set(DECISIONS), set(used) - set(DECISIONS)
    assert not set(DECISIONS) - set(used), f"decisions without a chart: {set(DECISIONS) - set(used)}"


@pytest.mark.parametrize("path", CHARTS, ids=[p.stem for p in CHARTS])
def test_chart_is_a_valid_labelled_request(path: Path):
    doc = load(path)
    assert doc["name"] == path.stem and doc["class"] in CLASSES and doc["why"].strip()
    assert doc["decision"] in DECISIONS
    datetime.fromisoformat(doc["now"].replace("Z", "+00:00"))
    assert (doc["expect"].get("side") in SIDES) if doc["expect"]["cards"] else "side" not in doc["expect"]
    discovery = SERVICES[doc["service"]]
    request = doc["request"]
    assert request["hook"] == discovery["hook"]
    for name, part in (
        ("request.schema.json", request),
        (f"context/{request['hook']}.schema.json", request["context"]),
    ):
        errors = [e.message for e in SCHEMAS.validator(name).iter_errors(part)]
        assert not errors, errors
    assert set(request["prefetch"]) == set(discovery["prefetch"])
    pid = request["context"]["patientId"]
    assert request["prefetch"]["patient"]["id"] == pid
    for value in request["prefetch"].values():
        r4_valid(value)
    drafts = [e["resource"] for e in (request["context"].get("draftOrders") or {}).get("entry", [])]
    for resource in drafts + doc.get("serverResources", []):
        r4_valid(resource)
    for card in doc["expect"]["cards"]:
        spec = CARDS[card["kind"]]
        assert card["indicator"] == (spec.get("indicatorByHook") or {}).get(request["hook"], spec["indicator"])
    draft_refs = {f"{d['resourceType']}/{d['id']}" for d in drafts}
    for ref, verdict in doc["expect"].get("verdicts", {}).items():
        assert ref in draft_refs and verdict in VERDICTS


def attachments(doc: dict) -> list[dict]:
    """Every narrative attachment: DiagnosticReport.presentedForm and DocumentReference.content."""
    prefetch = doc["request"]["prefetch"]
    reports = [e["resource"] for e in prefetch["diagnosticReports"].get("entry", [])]
    notes = [e["resource"] for e in prefetch["documentReferences"].get("entry", [])]
    return [f for r in reports for f in r.get("presentedForm", [])] + [
        c["attachment"] for n in notes for c in n.get("content", [])
    ]


@pytest.mark.parametrize("path", CHARTS, ids=[p.stem for p in CHARTS])
def test_narratives_decode_in_their_charset(path: Path):
    doc = load(path)
    binaries = {f"Binary/{r['id']}": r for r in doc.get("serverResources", []) if r["resourceType"] == "Binary"}
    for form in attachments(doc):
        source = form if "data" in form else binaries.get(form.get("url", ""))
        if source is None or not source["contentType"].startswith("text/"):
            continue
        text = base64.b64decode(source["data"], validate=True).decode(charset_of(source["contentType"]))
        assert len(text) > 40


def test_patients_and_binaries_are_distinct_across_charts():
    """The eval command may serve every chart's Binaries from one loopback server."""
    docs = [load(p) for p in CHARTS]
    patients = [d["request"]["context"]["patientId"] for d in docs]
    binaries = [r["id"] for d in docs for r in d.get("serverResources", [])]
    assert len(set(patients)) == len(patients) and len(set(binaries)) == len(binaries)
    for doc in docs:
        served = {f"Binary/{r['id']}" for r in doc.get("serverResources", [])}
        urls = {f["url"] for f in attachments(doc) if "url" in f}
        assert served <= urls, doc["name"]
