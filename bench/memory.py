"""Resident memory of gunicorn's worker processes, read from /proc (Linux)."""

from __future__ import annotations

from pathlib import Path

# The stated bound for one worker's resident memory after 20,000 distinct patients (issue 13):
# the interpreter, Flask, fhir.resources' models, spaCy/medspaCy's pipeline and every bounded
# per-process memo at its bound.
BOUND_MIB = 400


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS), or the highest it has been since the process started (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers_rss(master_pid: int) -> list[float]:
    return [round(rss_mib(pid), 1) for pid in sorted(worker_pids(master_pid))]


def workers_by_pid(master_pid: int) -> dict[int, float]:
    """Each live worker's resident memory (MiB), by process id (a restarted worker shows as a new pid)."""
    return {pid: round(rss_mib(pid), 1) for pid in sorted(worker_pids(master_pid))}
