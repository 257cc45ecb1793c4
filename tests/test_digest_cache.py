"""The R4 validity memo (issue 11 item 3): keyed by a digest, bounded in bytes, whatever the input size."""

from __future__ import annotations

import orjson

from cds_service.fhir import quick_check
from cds_service.pipeline import parse
from cds_service.pipeline.digest_cache import DigestCache, digest


def test_the_byte_budget_holds_and_the_least_recently_used_go_first():
    cache = DigestCache(max_bytes=2000)
    keys = [digest(str(i).encode()) for i in range(50)]
    for key in keys[:5]:
        cache.put(key, True)
    assert cache.get(keys[0]) is True  # now the most recently used
    for key in keys[5:]:
        cache.put(key, False)
        assert cache.bytes <= cache.max_bytes
    assert 0 < len(cache) < 50
    assert cache.get(keys[1]) is None, "an old entry was evicted"
    assert cache.get(keys[-1]) is False


def test_validating_large_resources_keeps_none_of_them(monkeypatch):
    """With the resource JSON as the key, 300 resources of 100 KB kept 30 MB alive."""
    monkeypatch.setattr(parse, "_VALIDITY", DigestCache(max_bytes=64 * 1024))
    for i in range(300):
        resource = {"resourceType": "Observation", "id": f"o{i}", "status": "final", "code": {"text": "x" * 100_000}}
        assert parse._valid_r4(resource, orjson.dumps(resource)) is True
    invalid = {"resourceType": "Observation", "id": "bad", "status": ["final"]}
    assert parse._valid_r4(invalid, orjson.dumps(invalid)) is False
    assert parse._valid_r4(invalid, orjson.dumps(invalid)) is False  # remembered answers are the same answers
    assert parse._VALIDITY.bytes <= 64 * 1024
    assert all(len(key) == 16 for key in parse._VALIDITY._entries)
    # the quick check remembers verdicts on short primitive values only
    assert all(len(str(value)) <= quick_check.MAX_REMEMBERED_CHARS for _, _, value in quick_check._verdicts)
