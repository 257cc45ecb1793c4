"""The real `cds-service` command in a subprocess, with only the CDS_ settings a test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_cli(*args, env: dict | None = None, input: str | None = None, timeout: float = 60):
    """Run `python -m cds_service ARGS`; stdin is empty (like cron or CI) unless `input` is given."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cds_service", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
