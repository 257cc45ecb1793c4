"""A keep-alive HTTP load generator: each virtual client holds one persistent connection.

Runs in its own process (see `measure`), so its CPU use is not charged to the server's GIL; the
server processes and the load generator still share this machine's two cores, which is why every
figure is reported as a ratio to the floor measured the same way in the same run.
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from urllib.parse import urlsplit


def _client(host, port, path, bodies, headers, extra, count, latencies, errors, barrier):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    barrier.wait()
    for i in range(count):
        body = bodies[i % len(bodies)]
        sent = {**headers, **extra[i]} if extra else headers
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=sent)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        latencies.append(time.perf_counter() - started)
        if not ok:
            errors.append(1)
    conn.close()


def _run(url, bodies, concurrency, total, queue, headers, per_request):
    parts = urlsplit(url)
    latencies, errors = [], []
    per_client = max(1, total // concurrency)
    barrier = threading.Barrier(concurrency + 1)
    threads = [
        threading.Thread(
            target=_client,
            args=(
                parts.hostname,
                parts.port,
                parts.path,
                bodies,
                headers,
                per_request[c * per_client : (c + 1) * per_client] if per_request else None,
                per_client,
                latencies,
                errors,
                barrier,
            ),
        )
        for c in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    queue.put({"latencies": latencies, "errors": len(errors), "elapsed": elapsed})


def measure(
    url: str,
    bodies: list[bytes],
    concurrency: int,
    total: int,
    headers: dict | None = None,
    per_request: list[dict] | None = None,
) -> dict:
    """POST `total` requests (cycling through `bodies`) with `concurrency` keep-alive clients.

    `per_request` gives extra headers for each request in turn (each used once: JWT ids)."""
    queue = multiprocessing.get_context("fork").Queue()
    all_headers = {"Content-Type": "application/json", "Connection": "keep-alive", **(headers or {})}
    proc = multiprocessing.get_context("fork").Process(
        target=_run, args=(url, bodies, concurrency, total, queue, all_headers, per_request)
    )
    proc.start()
    result = queue.get(timeout=900)
    proc.join(30)
    return result


def summarise(runs: list[dict]) -> dict:
    latencies = sorted(ms for run in runs for ms in run["latencies"])
    count = len(latencies)
    elapsed = sum(run["elapsed"] for run in runs)

    def pct(p):
        return latencies[min(count - 1, int(p / 100 * count))] * 1000 if count else None

    return {
        "requests": count,
        "errors": sum(run["errors"] for run in runs),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "rps": count / elapsed if elapsed else None,
    }
