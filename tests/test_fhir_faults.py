"""Hostile and broken FHIR servers (issue 11 items 2 and 3) against the real `cds-service serve`.

One gevent worker serves every test here, so its resident memory is the memory under attack.
Each fault must end in a 412 naming the keys, within the FHIR deadline (plus a generous margin
for a loaded machine); calls to a healthy server meanwhile must still get their data.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench.memory import rss_mib, worker_pids
from tests.support.builders import PREFETCH_KEYS, SERVICE_IDS, patient, request
from tests.support.faulty_fhir import FAULTS, FaultyFhir
from tests.support.gunicorn import served
from tests.support.servers import FhirStandIn

VIEW = SERVICE_IDS["patient-view"]
DEADLINE_S = 1.5
MARGIN_S = 3.0  # the machine is shared and loaded; the point is "seconds, not minutes"
# Stated bound for the worker's peak RSS while 4 requests at a time meet 200 MB bodies and 1 GiB gzip
# bombs, with the default settings: about 57 MiB at rest plus at most 16 fetches in flight to one
# server (CDS_FHIR_MAX_PER_SERVER) x 8 MiB each (CDS_FHIR_MAX_RESPONSE_BYTES), 185 MiB. Measured: 80 MiB.
# Unbounded, one 200 MB body alone passed 400 MiB; with failed reads' frames kept alive by chained
# exceptions, repeated attacks grew it past 500 MiB.
RSS_BOUND_MIB = 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    env = {
        "CDS_AUTH_MODE": "off",
        "CDS_DATABASE_URL": f"sqlite:///{tmp}/cds.sqlite3",
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_FHIR_DEADLINE_S": str(DEADLINE_S),
        "CDS_FHIR_TIMEOUT_S": "1",
    }
    with (
        FaultyFhir() as faulty,
        FhirStandIn(token=None) as healthy,
        served(env, tmp, workers=1, with_process=True) as (url, _log, proc),
    ):
        healthy.routes["Patient/p1"] = patient()
        yield {"url": url, "faulty": faulty, "healthy": healthy, "master": proc.pid}


def _call(url: str, fhir_server: str) -> tuple[requests.Response, float]:
    body = request("patient-view", fhirServer=fhir_server)
    started = time.monotonic()
    response = requests.post(
        f"{url}/cds-services/{VIEW}", data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=60
    )
    return response, time.monotonic() - started


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_a_412_naming_the_keys_within_the_deadline(stack, fault):
    response, elapsed = _call(stack["url"], stack["faulty"].base_for(fault))
    assert response.status_code == 412, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["missingPrefetch"], "the 412 names the keys it could not fetch"
    assert elapsed < DEADLINE_S + MARGIN_S, f"{fault}: answered after {elapsed:.1f} s"


def test_a_hanging_servers_sockets_are_closed_at_the_deadline(stack):
    faulty = stack["faulty"]
    before = len(faulty.hang_closed_after)
    response, _ = _call(stack["url"], faulty.base_for("hang"))
    assert response.status_code == 412
    for _ in range(100):  # let the stand-in notice the last closes (it polls every 50 ms)
        if len(faulty.hang_closed_after) - before >= len(PREFETCH_KEYS):
            break
        time.sleep(0.05)
    closed = faulty.hang_closed_after[before:]
    assert len(closed) == len(PREFETCH_KEYS), "every abandoned fetch's socket was closed, none kept reading"
    assert max(closed) < DEADLINE_S + MARGIN_S


def test_a_slow_server_does_not_take_the_capacity_of_others(stack):
    """Old behaviour: 16 shared pool threads held by dripping fetches, so healthy calls got 412."""
    with ThreadPoolExecutor(12) as pool:
        slow = [pool.submit(_call, stack["url"], stack["faulty"].base_for(f)) for f in ("drip", "hang", "slowbody") * 3]
        time.sleep(0.3)  # the slow calls are in flight, holding every slot their server may have
        healthy = [pool.submit(_call, stack["url"], stack["healthy"].url) for _ in range(3)]
        for future in healthy:
            response, _ = future.result()
            assert response.status_code == 200, response.text
        assert all(f.result()[0].status_code == 412 for f in slow)


def test_worker_memory_stays_bounded_under_huge_and_gzip_bomb_responses(stack):
    for _ in range(3):  # repeated: memory held after an attack would add up
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(
                    lambda f: _call(stack["url"], stack["faulty"].base_for(f))[0], ["huge", "hugestream", "gzip"] * 3
                )
            )
        assert {a.status_code for a in answers} == {412}
    (worker,) = worker_pids(stack["master"])
    peak = rss_mib(worker, "VmHWM")
    assert peak < RSS_BOUND_MIB, f"worker peak RSS {peak:.0f} MiB"
