"""The shape of load over time: VU targets for ramps, start times for arrival rates.

Everything here is plain arithmetic on seconds, shared by every worker process so that the
workers' shares add up exactly to the whole: worker ``i`` of ``n`` takes ``share(x, i, n)`` VUs
and every ``n``-th scheduled start beginning with the ``i``-th.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


def share(total: int, worker: int, workers: int) -> int:
    """Worker ``worker``'s part of ``total`` when split as evenly as possible."""
    return total // workers + (1 if worker < total % workers else 0)


@dataclass(frozen=True)
class Ramp:
    """A piecewise-linear level (VUs, or starts per second) from ``start`` through stages."""

    start: float
    stages: tuple[tuple[float, float], ...]  # (duration in seconds, target)

    @property
    def duration(self) -> float:
        return sum(d for d, _ in self.stages)

    def level(self, t: float) -> float:
        """The level at ``t`` seconds after the start."""
        level, elapsed = self.start, 0.0
        for duration, target in self.stages:
            if t < elapsed + duration:
                return level + (target - level) * (t - elapsed) / duration
            elapsed += duration
            level = target
        return level

    def vus(self, t: float) -> int:
        """Whole VUs at ``t`` (rounded down, as k6 does between stage targets)."""
        return math.floor(self.level(t) + 1e-9)

    def starts(self, worker: int = 0, workers: int = 1) -> Iterator[float]:
        """Start times (seconds) of iterations for a rate that follows the ramp.

        Iteration ``k`` starts when the integral of the rate reaches ``k``; worker ``i`` of
        ``n`` gets iterations ``i, i+n, i+2n...``.
        """
        k = worker
        done = 0.0  # iterations completed by the start of the current stage
        elapsed = 0.0
        r0 = self.start
        for duration, r1 in self.stages:
            if duration <= 0:
                r0 = r1
                continue
            slope = (r1 - r0) / duration
            total = done + (r0 + r1) / 2 * duration
            while k < total - 1e-9:
                need = k - done
                if abs(slope) < 1e-12:
                    x = need / r0
                else:
                    # r0*x + slope/2*x^2 = need
                    disc = max(r0 * r0 + 2 * slope * need, 0.0)
                    x = (-r0 + math.sqrt(disc)) / slope
                yield elapsed + min(max(x, 0.0), duration)
                k += workers
            done = total
            elapsed += duration
            r0 = r1


def constant_starts(rate_per_s: float, duration: float, worker: int = 0,
                    workers: int = 1) -> Iterator[float]:
    """Start times of ``rate_per_s`` iterations per second for ``duration`` seconds."""
    count = math.ceil(duration * rate_per_s - 1e-9)
    for k in range(worker, count, workers):
        yield k / rate_per_s


def ramp_from_stages(start: float, stages: Sequence[dict[str, float]], scale: float = 1.0,
                     per_second: float = 1.0) -> Ramp:
    """A :class:`Ramp` from k6 stages, durations scaled, targets turned into per second."""
    return Ramp(start * per_second,
                tuple((float(s["duration"]) * scale, float(s["target"]) * per_second)
                      for s in stages))
