"""Several `cds-service serve` replicas on loopback behind a real HAProxy running deploy/haproxy/haproxy.cfg.

Each replica is a process group of its own (gunicorn master and workers), so `kill()` is a kill -9
of the whole replica, as when a node or container dies, and `stop()` is the SIGTERM an orchestrator
sends. HAProxy is Debian's package; callers skip when it is not installed.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.gunicorn import ROOT, free_port

HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
LOG_LINE = re.compile(r"rid=(\S*) srv=(\S+) status=(-?\d+) term=(\S+) retries=(\+?\d+) ms=(-?\d+)")


def haproxy_missing() -> str | None:
    """Why the balancer cannot run here, or None."""
    if shutil.which("haproxy") is None:
        return "haproxy is not installed (Debian package haproxy; .ci/run installs it)"
    return None


def loopback_config(text: str, port: int, servers: dict[str, int], stats_socket: Path) -> str:
    """The compose balancer's configuration with its DNS discovery replaced by loopback servers:
    `bind :8080` -> this port, the resolvers section dropped, the server-template line replaced by
    one `server` line per replica (they inherit the file's default-server health checking)."""
    out, skipping = [], False
    replaced = {"bind": False, "template": False}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("resolvers "):
            skipping = True
            continue
        if skipping:
            if stripped and not line[0].isspace():
                skipping = False
            else:
                continue
        if stripped == "bind :8080":
            out.append(f"    bind 127.0.0.1:{port}")
            replaced["bind"] = True
        elif stripped.startswith("server-template "):
            out.extend(f"    server {name} 127.0.0.1:{p}" for name, p in servers.items())
            replaced["template"] = True
        elif stripped == "global":
            out += [line, f"    stats socket {stats_socket} level admin"]
        else:
            out.append(line)
    missing = [what for what, done in replaced.items() if not done]
    assert not missing, f"{HAPROXY_CFG} no longer has the lines the loopback copy replaces: {missing}"
    return "\n".join(out) + "\n"


class Balancer:
    """haproxy -db (foreground) with the loopback configuration; its log is one line per call."""

    def __init__(self, directory: Path, servers: dict[str, int]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket_path = directory / "haproxy.sock"
        self.config_path = directory / "haproxy.cfg"
        self.log_path = directory / "haproxy.log"
        text = loopback_config(HAPROXY_CFG.read_text(), self.port, servers, self.socket_path)
        self.config_path.write_text(text)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while not self.socket_path.exists():
            assert self.proc.poll() is None, self.log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "haproxy did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict]:
        """Per replica: HAProxy's status (UP, DOWN, ...) and current sessions, from `show stat`."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(text.splitlines())
        return {
            r["svname"]: {"status": r["status"].split()[0], "sessions": int(r["scur"] or 0)}
            for r in rows
            if r["pxname"] == "cds" and r["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_status(self, name: str, status: str, timeout_s: float = 30) -> float:
        """Seconds until HAProxy reports `name` in `status` (bounded)."""
        started = time.monotonic()
        while self.servers()[name]["status"] != status:
            assert time.monotonic() - started < timeout_s, f"{name} not {status} in {timeout_s} s: {self.servers()}"
            time.sleep(0.05)
        return time.monotonic() - started

    def log(self) -> dict[str, dict]:
        """request id -> what HAProxy did with the call (replica, status, termination state, retries)."""
        found = {}
        for match in LOG_LINE.finditer(self.log_path.read_text(errors="replace")):
            rid, srv, status, term, retries, ms = match.groups()
            found[rid] = {"server": srv, "status": int(status), "term": term, "retries": retries, "ms": int(ms)}
        return found


class Replica:
    """One `cds-service serve` on a fixed loopback port; restartable on the same port."""

    def __init__(self, name: str, env: dict, directory: Path, workers: int = 1):
        self.name, self.env, self.workers = name, env, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        self.starts = 0
        self.proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
        env.update(self.env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cds_service",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the workers too
            )

    def ready(self) -> bool:
        try:
            return requests.get(self.url + "/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout_s: float = 60) -> float:
        started = time.monotonic()
        while not self.ready():
            assert self.proc is not None and self.proc.poll() is None, self.log_path.read_text()[-3000:]
            assert time.monotonic() - started < timeout_s, f"{self.name} not ready in {timeout_s} s"
            time.sleep(0.05)
        return time.monotonic() - started

    def kill(self) -> None:
        """kill -9 of the whole replica (master and workers): nothing is flushed, nothing drained."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 40) -> float:
        """SIGTERM to the master, as Kubernetes sends it to a container's first process; seconds to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            raise AssertionError(f"{self.name} did not exit within {timeout_s} s of SIGTERM") from None
        return time.monotonic() - started

    def close(self) -> None:
        """Whatever state it is in: stopped, and no process of its group left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.stop()
            except AssertionError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
