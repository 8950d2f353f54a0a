"""An in-process read cache with a time to live, a size bound and hit/miss counters."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class CacheStats:
    """Counters of one cache since the service started."""

    hits: int
    misses: int
    entries: int

    @property
    def hit_rate(self) -> float:
        """Hits over all lookups, 0..1 (0 before the first lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class TTLCache:
    """Values kept for ``ttl`` seconds, least recently used dropped beyond ``max_entries``.

    A lookup is a *hit* when a live entry exists and a *miss* otherwise (absent or expired).
    ``ttl <= 0`` disables caching: every lookup is a miss and nothing is stored.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        """The cached value for ``key``, or None (counted as a miss)."""
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            del self._entries[key]
        self.misses += 1
        return None

    def put(self, key: Hashable, value: bytes) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        if self.ttl <= 0:
            return
        self._entries[key] = (self._clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` if it is cached."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every entry (the counters stay)."""
        self._entries.clear()

    def stats(self) -> CacheStats:
        """The counters now."""
        return CacheStats(self.hits, self.misses, len(self._entries))
