"""The documents stay true as the code moves: every setting and every command line option is
documented, links between documents resolve, and figures quoted from the shipped corpus are the
corpus's own (it grows; a stale count misleads a committee reading the evaluation)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cds_service import metrics
from cds_service.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
CORPUS = ROOT / "fixtures" / "corpus"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The body under a heading, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1 :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{level}}} ", rest, flags=re.M)]
    return rest[: ends[0]] if ends else rest


def test_the_readme_starts_with_the_two_commands_and_stays_short():
    readme = _text(README)
    commands = [line.strip() for line in readme.splitlines() if line.strip().startswith("make ")]
    assert commands[:2] == ["make serve", "make test"]
    assert len(readme.splitlines()) < 250


def test_the_readme_lists_every_document():
    toc = _section(_text(README), "## Documentation")
    listed = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", toc))
    assert listed == {f"docs/{p.name}" for p in DOCS}


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(path: Path):
    text = _text(path)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name}: link to a missing file {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", _text(linked), flags=re.M)
            assert anchor in {_slug(h) for h in headings}, f"{path.name}: no heading for {target}"


def _settings_read() -> set[str]:
    """Every environment variable the service reads: the Settings class, serve's worker counts and
    the metrics directory."""
    names = set()
    for source in ("config.py", "cli.py"):
        names |= set(re.findall(r'"(CDS_[A-Z0-9_]+)"', _text(ROOT / "cds_service" / source)))
    return names | {metrics.MULTIPROC_ENV}


def test_every_setting_has_a_row_with_its_default_in_the_configuration_table():
    table = _section(_text(ROOT / "docs" / "configuration.md"), "## Environment settings")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row)}
    missing = _settings_read() - documented
    assert not missing, f"not in docs/configuration.md's settings table: {sorted(missing)}"
    for row in rows:
        assert row.split("|")[2].strip(), f"a setting without its default: {row[:60]}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_and_option_is_documented():
    cli = _text(ROOT / "docs" / "cli.md")
    for name, parser in _subcommands().items():
        section = _section(cli, f"## {name}")
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or "-h" in action.option_strings:
                continue
            for option in action.option_strings:
                assert f"`{option}" in section, f"cds-service {name} {option} is not documented in docs/cli.md"


CHART_COUNT = re.compile(r"(\d[\d,]*)\s+(?:labelled\s+)?charts?\b")


def _corpus_figures(text: str) -> list[int]:
    """Chart counts quoted in a sentence that names the shipped corpus (a hospital's own 50-200
    charts, in a sentence of their own, are advice, not a figure of the corpus)."""
    sentences = re.split(r"(?<=[.;:])\s+", " ".join(text.split()))
    return [
        int(n.replace(",", ""))
        for sentence in sentences
        if "fixtures/corpus" in sentence or "shipped corpus" in sentence
        for n in CHART_COUNT.findall(sentence)
    ]


def test_the_figure_reader_finds_a_quoted_count():
    assert _corpus_figures("The shipped corpus (`fixtures/corpus/`, 134 charts) passes at 100 %.") == [134]
    assert _corpus_figures("A hospital exports 50-200 charts. The shipped corpus passes.") == []


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_figures_quoted_from_the_corpus_match_it(path: Path):
    live = len(list(CORPUS.glob("*.json")))
    for figure in _corpus_figures(_text(path)):
        assert figure == live, f"{path.name} quotes {figure} corpus charts; fixtures/corpus has {live}"
