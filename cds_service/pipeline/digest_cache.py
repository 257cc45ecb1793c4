"""A small, thread-safe LRU memo keyed by a digest of the input and bounded in bytes.

Memoising on the input itself keeps every input alive as a key: with whole FHIR resources as
keys, 4,096 entries of a few hundred KB each held over a gigabyte. A 16-byte BLAKE2b digest
keeps each entry's cost fixed and small, and the byte budget bounds what the cache may hold.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict

_ENTRY_OVERHEAD = 100  # an OrderedDict slot and its links, in bytes (CPython, 64-bit)


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class DigestCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[bytes, object] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _cost(key: bytes, value: object) -> int:
        return sys.getsizeof(key) + sys.getsizeof(value) + _ENTRY_OVERHEAD

    def get(self, key: bytes, default=None):
        with self._lock:
            if key not in self._entries:
                return default
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: bytes, value: object) -> None:
        cost = self._cost(key, value)
        if cost > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self.bytes -= self._cost(key, self._entries.pop(key))
            self._entries[key] = value
            self.bytes += cost
            while self.bytes > self.max_bytes:
                old_key, old_value = self._entries.popitem(last=False)
                self.bytes -= self._cost(old_key, old_value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
