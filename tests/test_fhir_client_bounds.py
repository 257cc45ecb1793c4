"""The FHIR client in-process (threads, as `evaluate` and the tests' app use it): fetches cut at the
deadline give their server's slots back at once; the per-server bound is a bound."""

from __future__ import annotations

import time
from functools import partial

from cds_service.fhir.client import FetchFailed, FhirClient
from tests.support.faulty_fhir import FaultyFhir


def _jobs(client: FhirClient, base: str, deadline: float, count: int) -> dict:
    return {f"k{i}": partial(client.read, f"Condition?patient=p{i}", base, None, deadline) for i in range(count)}


def test_cut_fetches_free_their_slots_and_the_bound_holds():
    client = FhirClient(timeout_s=5.0, max_pages=3, max_per_server=2)
    with FaultyFhir() as faulty:
        deadline = time.monotonic() + 1.0
        hung = client.gather(_jobs(client, faulty.base_for("slowbody"), deadline, 3), deadline, faulty.base)
        reasons = sorted(r.reason for r in hung.values())
        assert all(isinstance(r, FetchFailed) for r in hung.values())
        # two ran and were cut at the deadline; the third never got one of the server's two slots
        assert reasons == ["deadline passed", "deadline passed", "too many fetches in flight to this FHIR server"]

        deadline = time.monotonic() + 3.0  # straight away, the same server's healthy path
        fine = client.gather(_jobs(client, faulty.base_for("ok"), deadline, 2), deadline, faulty.base)
        assert all(not isinstance(r, FetchFailed) for r in fine.values()), fine
