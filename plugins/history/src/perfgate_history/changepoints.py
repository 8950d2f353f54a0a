"""Change points: the runs where a check's values shifted, by Apache Otava's e-divisive means.

Otava (``apache-otava``) is what DataStax and others run on their CI: e-divisive means with a
deterministic significance test (a Student's t-test between the two sides of a candidate
split, instead of the original's random permutations), so the same history always gives the
same answer. perfgate keeps only what Otava finds significant (``max_pvalue``) and large
enough (``min_magnitude``, a share of the mean before the shift).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Otava's defaults are for long series of many benchmarks; a shift in a perfgate history is
#: worth a look at a lower significance, since each point is already a whole run.
DEFAULT_MAX_PVALUE = 0.001
DEFAULT_MIN_MAGNITUDE = 0.05
#: How many points on each side of a candidate split Otava compares.
DEFAULT_WINDOW = 30


@dataclass(frozen=True)
class ChangePoint:
    """A shift: ``index`` is the first value after it."""

    index: int
    before: float  # the mean of the values before, back to the previous shift
    after: float  # the mean of the values after, up to the next shift
    pvalue: float

    @property
    def change(self) -> float:
        """The shift relative to the mean before it (0.2 is 20% higher)."""
        if self.before == 0:
            return 0.0 if self.after == 0 else float("inf")
        return (self.after - self.before) / abs(self.before)


def change_points(values: Sequence[float], *, max_pvalue: float = DEFAULT_MAX_PVALUE,
                  min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
                  window: int = DEFAULT_WINDOW) -> list[ChangePoint]:
    """The significant shifts in ``values`` (oldest first), in order."""
    from otava.analysis import compute_change_points  # type: ignore[import-untyped]

    if len(values) < 3:
        return []
    # A plain list: Otava's split step fails on a NumPy array of the same values.
    data = [float(v) for v in values]
    found, _ = compute_change_points(data, window_len=window, max_pvalue=max_pvalue,
                                     min_magnitude=min_magnitude)
    return [ChangePoint(int(cp.index), float(cp.stats.mean_1), float(cp.stats.mean_2),
                        float(cp.stats.pvalue))
            for cp in sorted(found, key=lambda cp: int(cp.index))]
