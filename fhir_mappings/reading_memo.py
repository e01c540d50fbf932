"""Readings of texts remembered across calls, by the text's digest: the text itself is never kept.

A patient's history is sent again on every hook call (each order selection, the signature, the chart opening), and
EHRs fill order and procedure texts from the same templates for every patient, so most texts a worker reads it has
read before; reading one in context costs ~100 µs, finding its reading here ~2 µs. Only a BLAKE2b digest of the text
and the reading (approach, levels, flags: no words of the record) stay in memory, so no patient's text outlives its
request. The memo holds a bounded number of readings per worker process and forgets the least recently used first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Reading = TypeVar("Reading")

# About 200 bytes per reading: 20,000 readings are ~4 MB per worker, more distinct texts than a busy clinic's day.
DEFAULT_CAPACITY = 20_000


class ReadingMemo(Generic[Reading]):
    """Remembers the reading of each distinct tuple of strings, keyed by their digest."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._readings: OrderedDict[bytes, Reading] = OrderedDict()
        # The worklist judges in processes, the service on one event loop; a lock keeps the memo whole if a caller
        # ever reads from threads, at ~0.1 µs a call.
        self._lock = threading.Lock()

    def reading(self, parts: Iterable[str], read: Callable[[], Reading]) -> Reading:
        """The reading of `parts`, from memory or else from `read()`, which must depend on `parts` only."""
        digest = hashlib.blake2b(digest_size=16)
        for part in parts:
            encoded = part.encode("utf-8", "surrogatepass")
            # Each part's length goes first, so ("ab", "c") and ("a", "bc") never share a digest.
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
        key = digest.digest()
        with self._lock:
            found = self._readings.get(key)
            if found is not None:
                self._readings.move_to_end(key)
                return found
        reading = read()
        with self._lock:
            self._readings[key] = reading
            if len(self._readings) > self._capacity:
                self._readings.popitem(last=False)
        return reading
