"""`cds-service eval`: the shipped corpus passes at 100 %, thresholds decide the exit status, and
the hospital's report database is never written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "fixtures" / "corpus"


def run_eval(folder: Path, *options: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "cds_service", "eval", str(folder), *options],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=REPO,
    )


def test_shipped_corpus_passes_completely(tmp_path):
    database = tmp_path / "hospital.sqlite3"
    done = run_eval(
        CORPUS,
        "--min-sensitivity",
        "1",
        "--min-specificity",
        "1",
        "--min-accuracy",
        "1",
        env_extra={"CDS_DATABASE_URL": f"sqlite:///{database}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "misses: 0" in done.stdout and "sensitivity 100.0%" in done.stdout and "specificity 100.0%" in done.stdout
    for cls in ("narrative-binary-url", "assertion", "tied-to-mass", "report-only-mass", "site-precision", "recency"):
        assert f"\n{cls} " in done.stdout
    assert "p50" in done.stdout and "p95" in done.stdout
    assert not database.exists(), "eval must not write to the configured report database"


def test_wrong_label_is_named_and_fails_the_threshold(tmp_path):
    charts = sorted(CORPUS.glob("*.json"))
    positive = next(p for p in charts if json.loads(p.read_text()).get("expect", {}).get("cards"))
    negative = next(p for p in charts if json.loads(p.read_text()).get("expect", {}).get("cards") == [])
    for path in (positive, negative):
        shutil.copy(path, tmp_path / path.name)
    flipped = json.loads(positive.read_text())
    flipped["expect"] = {"cards": []}
    flipped["name"] = "flipped"
    (tmp_path / "flipped.json").write_text(json.dumps(flipped))
    done = run_eval(tmp_path, "--min-specificity", "0.9")
    assert done.returncode == 1
    assert "flipped" in done.stdout and "specificity" in done.stderr
    assert run_eval(tmp_path, "--min-sensitivity", "1").returncode == 0


def test_detail_words_match_whatever_their_case(tmp_path):
    """A label's detailIncludes / detailExcludes are words, not a case-sensitive string: the card
    writes "Pregnancy status" at a sentence start where a labeller writes "pregnancy status"."""
    source = next(p for p in sorted(CORPUS.glob("*.json")) if "detailIncludes" in p.read_text())
    chart = json.loads(source.read_text())
    for card in chart["expect"]["cards"]:
        card["detailIncludes"] = [w.swapcase() for w in card.get("detailIncludes", [])]
    (tmp_path / source.name).write_text(json.dumps(chart))
    assert run_eval(tmp_path, "--min-accuracy", "1").returncode == 0
    for card in chart["expect"]["cards"]:
        card["detailExcludes"] = [w.upper() for w in card.get("detailIncludes", [])]
    (tmp_path / source.name).write_text(json.dumps(chart))
    assert run_eval(tmp_path, "--min-accuracy", "1").returncode == 1
