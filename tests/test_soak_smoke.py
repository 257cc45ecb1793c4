"""A few seconds of `make soak` in the suite: the mixed traffic (valid, malformed, faulty FHIR servers)
against the real `cds-service serve` gets no 5xx and no broken connection. Memory flatness needs
the full run (`make soak`); a few seconds of warm-up would make it noise, so it is not judged here."""

from bench.soak import soak


def test_a_short_soak_gets_no_server_error():
    figures = soak(seconds=8, concurrency=8, seed=20261123, tolerance=None)
    assert figures["requests"] > 50, figures
    assert figures["server_errors"] == 0 and figures["transport_errors"] == 0, figures
    assert {"200", "400"} <= set(figures["statuses"]), figures  # valid and malformed calls were both answered
