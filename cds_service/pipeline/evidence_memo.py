"""The evidence of a chart, remembered per content digest for the repeated calls of one session.

order-select fires on every change of the order form: the same patient's chart arrives again and
again while only the drafts move. The chart search (masses, ultrasounds, calcification, prior
imaging, orders, allergies; evidence.search_chart) reads no draft and depends on nothing else but
the knowledge it is judged with and today's date (age; future-dated reports), so its result is kept
under a digest of exactly what it reads: the knowledge object (one per app; an entry holds a weak
reference and counts only while that same object lives), today's date, the patient, this patient's resources
after parsing, and fetched report attachments. A call with other drafts finds the same entry.

Bounded in bytes: an entry is charged what the chart it was computed from takes in memory (all an
entry can keep alive is a subset of that chart's resources: their JSON size times PYTHON_PER_JSON,
measured with tracemalloc on the benchmark's charts), and charts over MAX_CHART_RESOURCES are not
remembered at all (hashing them would cost more than the search saves). A new patient
(the benchmark's cold scenarios) always misses and pays only the digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import weakref
from datetime import date

import orjson

from .digest_cache import DigestCache

MAX_CHART_RESOURCES = 2000
MAX_BYTES = 4 * 1024 * 1024
PYTHON_PER_JSON = 6  # parsed JSON as Python dicts, lists and strings: 4.7x (80 resources) to 6x (a few)
_ENTRY_OVERHEAD = 2048  # the Evidence, its Mass/Finding objects and lists, beyond the chart itself


class _ChartMemo(DigestCache):
    @staticmethod
    def _cost(key: bytes, value) -> int:
        return PYTHON_PER_JSON * value[2] + _ENTRY_OVERHEAD


_MEMO = _ChartMemo(max_bytes=MAX_BYTES)


def _key(record, kb, today: date) -> tuple[bytes, int] | None:
    """SHA-256 of what the chart search reads, and that content's size; None when not worth it."""
    if sum(map(len, record.by_type.values())) > MAX_CHART_RESOURCES:
        return None
    try:
        content = orjson.dumps(
            (
                id(kb),
                today.isoformat(),
                record.patient_id,
                record.patient,
                record.by_type,
                record.binaries,
            )
        )
    except (TypeError, orjson.JSONEncodeError):
        return None
    return hashlib.sha256(content).digest(), len(content)


def recall(record, kb, today: date, compute):
    """`compute()`'s Evidence for this chart, from the memo when the same chart was searched before,
    and whether it was remembered.

    The caller gets its own copy (later stages set fields on it); the record's count of invalid
    resources is what the search found, hit or miss, so the request log says the same."""
    key = _key(record, kb, today)
    if key is None:
        return compute(), False
    digest, size = key
    known = _MEMO.get(digest)
    if known is not None and known[3]() is kb:
        evidence, invalid, _, _ = known
        record.invalid += invalid
        return dataclasses.replace(evidence), True
    before = record.invalid
    evidence = compute()
    _MEMO.put(digest, (dataclasses.replace(evidence), record.invalid - before, size, weakref.ref(kb)))
    return evidence, False
