"""``trace:``: a W3C ``traceparent`` on every request, and the slowest traced requests kept.

Each request gets a new trace id and span id (``00-<32 hex>-<16 hex>-<flags>``); the
``sample`` share of them carry the sampled flag (``01``), which asks the service to record the
trace. For each endpoint the ``slowest`` sampled requests are kept with their trace ids, so a
report can point at the traces of the requests that made the tail. With ``trace`` off nothing
here runs.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

#: One kept request: (duration in µs, trace id, status code or error kind).
Kept = tuple[int, str, "int | str"]


class Tracer:
    """Stamps requests with a ``traceparent`` and keeps the slowest sampled ones per label."""

    __slots__ = ("_random", "_rng", "keep", "sample", "slowest")

    def __init__(self, sample: float, keep: int, seed: int | None = None) -> None:
        self.sample = sample
        self.keep = keep
        self._rng = random.Random(seed)
        self._random = self._rng.random
        self.slowest: dict[str, list[Kept]] = {}

    def stamp(self, data: bytes) -> tuple[bytes, str | None]:
        """``data`` with a ``traceparent`` header after the request line, and the trace id
        when the request is sampled (else None)."""
        bits = self._rng.getrandbits
        trace_id = f"{bits(128) or 1:032x}"
        sampled = self.sample >= 1.0 or self._random() < self.sample
        header = (f"traceparent: 00-{trace_id}-{bits(64) or 1:016x}-"
                  f"{'01' if sampled else '00'}\r\n").encode()
        cut = data.index(b"\r\n") + 2
        return data[:cut] + header + data[cut:], trace_id if sampled else None

    def observe(self, label: str, duration_us: int, trace_id: str, result: int | str) -> None:
        """Keep a sampled request if it is among the ``keep`` slowest of its label."""
        heap = self.slowest.get(label)
        if heap is None:
            heap = self.slowest[label] = []
        if len(heap) < self.keep:
            heapq.heappush(heap, (duration_us, trace_id, result))
        elif duration_us > heap[0][0]:
            heapq.heapreplace(heap, (duration_us, trace_id, result))


def merge_slowest(parts: list[dict[str, list[Kept]]], keep: int) -> dict[str, list[Kept]]:
    """The ``keep`` slowest per label over several tracers (worker processes)."""
    merged: dict[str, list[Kept]] = {}
    for part in parts:
        for label, kept in part.items():
            merged.setdefault(label, []).extend(tuple(k) for k in kept)  # type: ignore[misc]
    return {label: heapq.nlargest(keep, kept) for label, kept in merged.items()}


def slowest_details(slowest: dict[str, list[Kept]]) -> dict[str, list[dict[str, Any]]]:
    """What the result document shows: per endpoint, slowest first."""
    return {label: [{"trace_id": trace_id, "duration_ms": round(us / 1000, 3),
                     "status": result}
                    for us, trace_id, result in sorted(kept, reverse=True)]
            for label, kept in sorted(slowest.items())}
