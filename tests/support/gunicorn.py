"""The real `cds-service serve` (gunicorn, several worker processes) as a subprocess on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(
    env: dict,
    log_dir: Path,
    workers: int | None = 2,
    command: tuple = ("cds_service", "serve"),
    with_process: bool = False,
):
    """Yield (base URL, log path) once /healthz answers; the process is stopped afterwards.

    `command` is the module and subcommand to run (the benchmark's floor uses it too); with
    `with_process` the Popen is yielded as a third item. Only the CDS_ variables given here reach
    the server, so a developer's shell cannot change a test. workers None: not passed (the
    command's default, CDS_WORKERS, applies).
    """
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    full_env["CDS_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"  # the JWT aud base, unless env says otherwise
    full_env.update(env)
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *command,
                "--port",
                str(port),
                *(("--workers", str(workers)) if workers is not None else ()),
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"{'https' if env.get('CDS_TLS_CERT') else 'http'}://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"serve exited early:\n{log_path.read_text()[-2000:]}")
                try:  # a TLS test's certificate is self-signed: trust exactly it
                    if (
                        requests.get(url + "/healthz", timeout=0.5, verify=env.get("CDS_TLS_CERT", True)).status_code
                        == 200
                    ):
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("serve did not become healthy in 20 s")
                time.sleep(0.1)
            yield (url, log_path, proc) if with_process else (url, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def child_pids(pid: int) -> set[int]:
    """The live child processes of `pid` (gunicorn's workers), read from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found
