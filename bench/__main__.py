"""`make bench`: the service against the bare-framework floor, interleaved A, B, A, B in one run.

Writes bench/results/bench-<time>.json and .md: p50/p95/p99 latency and requests per second per
scenario, each as a ratio to the floor, and whether each target of the benchmark issue is met.
`--quick` runs a few requests per scenario (the test suite's smoke test uses it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from tests.support.gunicorn import served
from tests.support.servers import FhirStandIn

from . import cold, data, load, memory, report
from .auth import BenchClient

SERVICE = "/cds-services/flank-mass-imaging-order-select"


def _check(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url + SERVICE, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _ab(service: str, floor: str, bodies: list[bytes], n: int, concurrency: int, rounds: int) -> dict:
    """Warm both up, then alternate service and floor runs; summarise each side over all rounds."""
    load.measure(service + SERVICE, bodies, concurrency, max(20, n // 5))
    load.measure(floor + SERVICE, bodies, concurrency, max(20, n // 5))
    runs = {"service": [], "floor": []}
    for _ in range(rounds):
        runs["service"].append(load.measure(service + SERVICE, bodies, concurrency, n))
        runs["floor"].append(load.measure(floor + SERVICE, bodies, concurrency, n))
    return {side: load.summarise(r) for side, r in runs.items()}


def run(quick: bool, workers: int, out_dir: Path, scale: float = 1.0) -> dict:
    scale = 0.02 if quick else scale
    n = lambda full: max(10, int(full * scale))  # noqa: E731
    rounds = 1 if quick else 2
    results: dict = {
        "workers": workers,
        "quick": quick,
        "scale": scale,
        "scenarios": {},
        "conditions": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
    }
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/bench.sqlite3",
            "CDS_LOG_LEVEL": "WARNING",
        }
        service, _, master = stack.enter_context(served(env, tmp_path, workers, with_process=True))
        floor, _ = stack.enter_context(served({}, tmp_path, workers, command=("bench.serve", "floor")))
        scenarios = results["scenarios"]

        positive = [data.encode(data.order_select(data.mri_draft(), data.prefetch(80))) for _ in range(20)]
        answer = _check(service, positive[0])
        results["positive_cards"] = [c["summary"] for c in answer.get("cards", [])]
        scenarios["1 positive, 80 resources, MRI selected"] = _ab(service, floor, positive, n(2000), 1, rounds)

        # Cold: a new patient and new resource ids on every call (nothing cached per resource or
        # narrative); coded findings vs the same findings only in five ~400-word US narratives.
        # Interleaved service, floor, service, floor, with fresh bodies (new seeds) for every round;
        # the floor parses the very same bodies.
        count, cold_runs = n(300), {(shape, side): [] for shape in (False, True) for side in ("service", "floor")}
        for narratives in (False, True):
            warm_up = cold.bodies(max(20, count // 5), narratives, seed=99)
            load.measure(service + SERVICE, warm_up, 1, len(warm_up))
            load.measure(floor + SERVICE, warm_up, 1, len(warm_up))
        for round_no in range(rounds * 2):
            for narratives in (False, True):
                bodies = cold.bodies(count, narratives, seed=round_no)
                for side, url in (("service", service), ("floor", floor)):
                    cold_runs[(narratives, side)].append(load.measure(url + SERVICE, bodies, 1, count))
        for narratives, name in ((False, "8 cold, coded findings"), (True, "9 cold, findings in 5 US narratives")):
            scenarios[name] = {side: load.summarise(cold_runs[(narratives, side)]) for side in ("service", "floor")}

        half = [data.encode(data.order_select(data.half_filled_draft(), data.prefetch(80)))]
        scenarios["2 half-filled draft"] = _ab(service, floor, half, n(2000), 1, rounds)

        for size, count in ((1000, 400), (10000, 60)):
            big = [data.encode(data.order_select(data.mri_draft(), data.prefetch(size)))]
            scenarios[f"3 prefetch of {size} resources"] = _ab(service, floor, big, n(count), 1, rounds)

        with FhirStandIn(token="bench-token", delay_s=0.050) as fhir:
            fhir.routes[f"Patient/{data.PID}"] = data.prefetch(1)["patient"]
            fetch = [
                data.encode(
                    data.order_select(
                        data.mri_draft(),
                        None,
                        fhirServer=fhir.url,
                        fhirAuthorization={"access_token": "bench-token", "token_type": "Bearer"},
                    )
                )
            ]
            summary = load.summarise([load.measure(service + SERVICE, fetch, 1, n(100))])
            scenarios["4 no prefetch, 9 keys from a FHIR server adding 50 ms"] = {
                "service": summary,
                "round_trip_ms": 50.0,
            }

        for concurrency in (1, 8, 32):
            scenarios[f"5 concurrency {concurrency}"] = _ab(service, floor, positive, n(3000), concurrency, rounds)

        client = BenchClient(tmp_path)
        auth_env = {
            **env,
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_CLIENTS": str(client.clients_file),
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/bench-auth.sqlite3",
        }
        authed, _ = stack.enter_context(served(auth_env, tmp_path, workers))
        count = n(2000)
        runs = {"service": [], "floor": []}
        for _ in range(rounds):  # same service, auth off ("floor" column) against auth required
            tokens = client.tokens(authed + SERVICE, count + max(20, count // 5))
            load.measure(authed + SERVICE, positive, 1, max(20, count // 5), per_request=tokens[count:])
            runs["service"].append(load.measure(authed + SERVICE, positive, 1, count, per_request=tokens[:count]))
            runs["floor"].append(load.measure(service + SERVICE, positive, 1, count))
        scenarios["7 JWT verified (ES384) vs auth off"] = {side: load.summarise(r) for side, r in runs.items()}

        # Memory: distinct patients (one in ten with narratives) at concurrency 8, after a warm-up
        # long enough for every bounded per-process memo to reach its bound.
        warm_up, patients = cold.distinct(n(4000), seed=500), cold.distinct(n(20000), seed=501)
        load.measure(service + SERVICE, warm_up, 8, len(warm_up))
        rss_warm = memory.workers_rss(master.pid)
        load.measure(service + SERVICE, patients, 8, len(patients))
        rss_after = memory.workers_rss(master.pid)
        scenarios["6 memory per worker (MiB)"] = {
            "after_warm_up": rss_warm,
            "after_requests": rss_after,
            "requests": len(patients),
            "distinct_patients": True,
            "bound_mib": memory.BOUND_MIB,
        }
    results["conditions"]["load_after"] = os.getloadavg()
    results["targets"] = report.targets(results["scenarios"])
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2))
    table = report.markdown(results)
    (out_dir / f"bench-{stamp}.md").write_text(table)
    print(table)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few requests per scenario (smoke test)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full request counts (quicker, noisier)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    results = run(args.quick, args.workers, args.out, args.scale)
    return 0 if args.quick or all(t["met"] for t in results["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
