"""The benchmark harness runs end to end (a few requests per scenario); speed itself is `make bench`'s job."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_run_writes_every_scenario(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(next(tmp_path.glob("bench-*.json")).read_text())
    assert len(data["scenarios"]) == 12
    assert {"8 cold, coded findings", "9 cold, findings in 5 US narratives"} <= set(data["scenarios"])
    for name, scenario in data["scenarios"].items():
        for side in ("service", "floor"):
            if side in scenario and isinstance(scenario[side], dict):
                assert scenario[side]["requests"] > 0 and scenario[side]["errors"] == 0, name
    assert data["positive_cards"], "scenario 1 must exercise a positive patient"
    table = next(tmp_path.glob("bench-*.md")).read_text()
    assert "| (1) p50 / floor p50 |" in table and "JWT verification adds" in table
    assert "(9) cold narratives p50 minus cold coded p50, ms" in table
