"""`make soak`: mixed valid, malformed and faulty traffic against `cds-service serve` for a while.

Passes (exit 0) when no answer was a 5xx or a broken connection and the workers' resident memory
at the end is within SOAK_RSS_TOLERANCE (10%) of what it was after the warm-up. Prints the
figures either way. SOAK_SECONDS (600), SOAK_CONCURRENCY (32) and SOAK_SEED set the run.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from tests.support.gunicorn import free_port, served

from . import memory
from .soak_traffic import FaultyFhir, mix


def _client(host: str, port: int, requests: list, offset: int, until: float, statuses: Counter, lock) -> None:
    """Send requests from `offset` on, in order, until `until`; count statuses (-1: transport error)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    seen: Counter = Counter()
    i = offset
    while time.monotonic() < until:
        method, path, body, headers = requests[i % len(requests)]
        i += 1
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            seen[response.status] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        except (OSError, http.client.HTTPException):
            seen[-1] += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()
    with lock:
        statuses.update(seen)


def soak(seconds: float, concurrency: int, seed: int, tolerance: float | None) -> dict:
    """Run the soak; returns the figures (see `passed`)."""
    warmup = min(60.0, max(2.0, seconds * 0.1))
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/soak.sqlite3",
            "CDS_LOG_LEVEL": "WARNING",
        }
        url, log_path, master = stack.enter_context(served(env, tmp_path, 2, with_process=True))
        fhir = stack.enter_context(FaultyFhir(hang_s=10.0))
        requests = mix(seed, fhir.url, f"http://127.0.0.1:{free_port()}/fhir")
        host, port = url.removeprefix("http://").split(":")
        statuses: Counter = Counter()
        lock = threading.Lock()
        started = time.monotonic()
        until = started + seconds
        spread = max(1, len(requests) // concurrency)  # clients start at different points of the mix
        threads = [
            threading.Thread(target=_client, args=(host, int(port), requests, c * spread, until, statuses, lock))
            for c in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        samples = []
        while time.monotonic() < until:
            time.sleep(min(5.0, max(0.1, until - time.monotonic())))
            samples.append((round(time.monotonic() - started, 1), sum(memory.workers_rss(master.pid))))
        for thread in threads:
            thread.join(60)
        elapsed = time.monotonic() - started
        log_tail = log_path.read_text(errors="replace")[-2000:]
    after_warmup = [rss for at, rss in samples if at >= warmup] or [rss for _, rss in samples]
    base, end = after_warmup[0], after_warmup[-1]
    total = sum(statuses.values())
    figures = {
        "seconds": round(elapsed, 1),
        "concurrency": concurrency,
        "seed": seed,
        "requests": total,
        "rps": round(total / elapsed, 1) if elapsed else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "transport_errors": statuses.get(-1, 0),
        "rss_mib": {
            "after_warmup": round(base, 1),
            "end": round(end, 1),
            "max": round(max(after_warmup), 1),
            "growth": round((end - base) / base, 4) if base else None,
            "warmup_s": warmup,
        },
    }
    figures["passed"] = (
        figures["server_errors"] == 0
        and figures["transport_errors"] == 0
        and (tolerance is None or figures["rss_mib"]["growth"] <= tolerance)
    )
    if not figures["passed"]:
        figures["server_log_tail"] = log_tail
    return figures


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    concurrency = int(os.environ.get("SOAK_CONCURRENCY", "32"))
    seed = int(os.environ.get("SOAK_SEED", "20261123"))
    tolerance = float(os.environ.get("SOAK_RSS_TOLERANCE", "0.10"))
    print(f"soak: {seconds:.0f} s at concurrency {concurrency} (seed {seed}) against cds-service serve ...", flush=True)
    figures = soak(seconds, concurrency, seed, tolerance)
    print(json.dumps(figures, indent=2))
    rss = figures["rss_mib"]
    print(
        f"soak: {figures['requests']} requests ({figures['rps']}/s), {figures['server_errors']} 5xx, "
        f"{figures['transport_errors']} broken connections; worker RSS {rss['after_warmup']} -> {rss['end']} MiB "
        f"({rss['growth']:+.1%}, max {rss['max']}): {'PASS' if figures['passed'] else 'FAIL'}"
    )
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
