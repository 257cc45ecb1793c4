"""Hook latency and card records across storage faults (issue 21's closing figures); not a test.

`python -m bench.faults` starts a private PostgreSQL cluster on a free loopback port (initdb as
the postgres user: the machine's shared cluster is never locked, killed or restarted), serves
`cds-service serve` (2 workers, suppression on, so every hook call reads storage) against it, and
drives order-select calls from FAULTS_CLIENTS keep-alive clients through these phases:
steady, a 15 s ACCESS EXCLUSIVE lock on every table, steady, every server backend terminated
(three times, a second apart), steady, a fast restart of the cluster, steady. It prints hook p50 /
p99 per phase and how many of the issued cards are recorded once the spool has drained.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.gunicorn import free_port, served
from tests.support.safety import SELECT, positive

PG_BIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]) if Path("/usr/lib/postgresql").exists() else None
SECRET = "suppression-secret-for-bench-0123456789"
TABLES = "cds_card, cds_rating, cds_card_subject, cds_suppression, cds_last_look, cds_feedback, auth_seen_jti"


@contextmanager
def private_postgres():
    """A throwaway cluster owned by the postgres user; yields (url, restart)."""
    root = Path(tempfile.mkdtemp(prefix="cds-pg-"))
    os.chmod(root, 0o777)
    data, port = root / "data", free_port()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pg_ctl(*args):
        subprocess.run(
            [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-t", "60", *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    subprocess.run(
        [*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    pg_ctl("-o", options, "-l", str(root / "log"), "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", lambda: pg_ctl("-m", "fast", "restart")
    finally:
        pg_ctl("-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


class Load:
    def __init__(self, base: str, clients: int):
        self.base, self.clients = base, clients
        self.samples: list[tuple[float, float, int, str | None]] = []  # (start, ms, status, card uuid)
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _client(self) -> None:
        import requests

        body = json.dumps(positive())
        with requests.Session() as http:
            http.trust_env = False
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = http.post(
                        f"{self.base}/cds-services/{SELECT}",
                        data=body,
                        timeout=30,
                        headers={"Content-Type": "application/json"},
                    )
                    cards = response.json().get("cards") or [{}] if response.ok else [{}]
                    status, uuid = response.status_code, cards[0].get("uuid")
                except requests.RequestException:
                    status, uuid = -1, None
                with self._lock:
                    self.samples.append((started, (time.monotonic() - started) * 1000, status, uuid))

    def __enter__(self):
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def main() -> int:
    clients = int(os.environ.get("FAULTS_CLIENTS", "4"))
    phases: list[tuple[str, float, float]] = []
    with private_postgres() as (url, restart), tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site.json"
        site.write_text(json.dumps({"suppression": {"enabled": True}}))
        env = {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": url,
            "CDS_SITE_CONFIG": str(site),
            "CDS_SUPPRESSION_SECRET": SECRET,
            "CDS_LOG_LEVEL": "WARNING",
        }
        with served(env, Path(tmp), workers=2) as (base, log_path), Load(base, clients) as load:

            def phase(name: str, action, seconds: float) -> None:
                started = time.monotonic()
                action()
                time.sleep(max(0.0, seconds - (time.monotonic() - started)))
                phases.append((name, started, time.monotonic()))

            def locked() -> None:
                with psycopg.connect(url) as locker:
                    locker.execute(f"LOCK TABLE {TABLES} IN ACCESS EXCLUSIVE MODE")
                    time.sleep(15)
                    locker.rollback()

            def terminated() -> None:
                for _ in range(3):
                    with psycopg.connect(url, autocommit=True) as admin:
                        admin.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                        )
                    time.sleep(1)

            phase("steady", lambda: None, 5)
            phase("table lock 15 s", locked, 15)
            phase("after lock", lambda: None, 5)
            phase("backends terminated x3", terminated, 4)
            phase("after terminate", lambda: None, 5)
            phase("restart", restart, 0)
            phase("after restart", lambda: None, 10)
            load._stop.set()
            issued = [uuid for _, _, status, uuid in load.samples if uuid]
            recorded, deadline = 0, time.monotonic() + 90
            while time.monotonic() < deadline:
                with psycopg.connect(url) as reader:
                    recorded = reader.execute(
                        "SELECT COUNT(*) FROM cds_card WHERE uuid = ANY(%s)", (issued,)
                    ).fetchone()[0]
                if recorded >= len(issued):
                    break
                time.sleep(1)
            log_tail = log_path.read_text(errors="replace")
    result = {
        "clients": clients,
        "phases": [],
        "cards_issued": len(issued),
        "cards_recorded": recorded,
        "not_recorded_log_lines": log_tail.count("issued cards not recorded"),
    }
    for name, start, end in phases:
        inside = [s for s in load.samples if start <= s[0] < end]
        result["phases"].append(
            {
                "phase": name,
                "calls": len(inside),
                "p50_ms": _pct([s[1] for s in inside], 0.5),
                "p99_ms": _pct([s[1] for s in inside], 0.99),
                "max_ms": _pct([s[1] for s in inside], 1.0),
                "statuses": {str(k): sum(1 for s in inside if s[2] == k) for k in sorted({s[2] for s in inside})},
            }
        )
    print(json.dumps(result, indent=2))
    return 0 if recorded == len(issued) else 1


if __name__ == "__main__":
    sys.exit(main())
