"""The fixture cases under fixtures/cases/ as request bodies (tests start from a real chart)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "cases"


@cache
def _load(name: str) -> str:
    return (CASES_DIR / name).read_text()


def case_request(name: str) -> dict:
    """A fresh copy of the request body of fixture case `name` (a file under fixtures/cases/)."""
    return json.loads(_load(name))
