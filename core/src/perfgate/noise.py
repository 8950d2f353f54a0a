"""How sure a measured aggregation is: confidence intervals from a metric's own counts.

A run measures a sample of what the service does; a second run of the same code measures a
slightly different one. Before a relative check calls a change a regression, it asks whether
chance explains it. The intervals here come from what every metric already keeps:

- a percentile (``p(N)``, ``med``) of a trend: the distribution-free interval of a quantile
  from order statistics. The rank of the q-quantile among n samples is binomial (n, q), so
  the values at ranks ``nq ± z·sqrt(nq(1-q))``, read from the HDR histogram's counts, bound
  the true quantile with the given confidence;
- ``avg`` of a trend: the mean ± z standard errors, the deviation taken from the histogram;
- ``rate`` of a rate: the Wilson score interval of the binomial counts (passes of total);
- ``count`` and ``rate`` of a counter: a Poisson count, ± z·sqrt(count);
- anything else (``min``, ``max``, gauges): no interval; such values are compared as they are.

``confidence`` is the two-sided level (0.95); 0 makes every interval a single point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from perfgate.metrics import Counter, Metric, Rate, Trend


@dataclass(frozen=True)
class Interval:
    """A value's confidence interval: ``low <= value <= high``, at ``confidence``."""

    low: float
    high: float
    confidence: float

    def hull(self, other: Interval) -> Interval:
        """The smallest interval holding both."""
        return Interval(min(self.low, other.low), max(self.high, other.high), self.confidence)

    def widen(self, value: float) -> Interval:
        """This interval stretched to hold ``value`` too."""
        return Interval(min(self.low, value), max(self.high, value), self.confidence)


def z_score(confidence: float) -> float:
    """The standard normal quantile for a two-sided ``confidence`` (1.96 for 0.95)."""
    if not 0 <= confidence < 1:
        raise ValueError(f"a confidence is at least 0 and below 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def confidence_interval(metric: Metric, aggregation: str, percentile: float | None = None,
             confidence: float = 0.95) -> Interval | None:
    """The confidence interval of ``metric``'s ``aggregation``, or None if it has none here
    (no samples, or an aggregation without sampling noise to estimate)."""
    value = metric.aggregate(aggregation, percentile)
    if value is None or metric.count == 0:
        return None
    z = z_score(confidence)
    found = _interval(metric, aggregation, percentile, value, z, confidence)
    if found is not None and z == 0:
        return Interval(value, value, confidence)
    return found


def _interval(metric: Metric, aggregation: str, percentile: float | None, value: float,
              z: float, confidence: float) -> Interval | None:
    if isinstance(metric, Trend):
        if aggregation in ("p", "med"):
            q = (50.0 if aggregation == "med" or percentile is None else percentile) / 100
            return _quantile(metric, q, z, confidence).widen(value)
        if aggregation == "avg":
            n = metric.count
            sd = metric.histogram.get_stddev() / metric.STEPS_PER_UNIT
            half = z * sd / math.sqrt(n)
            return Interval(value - half, value + half, confidence)
        return None
    if isinstance(metric, Rate) and aggregation == "rate":
        low, high = wilson(metric.passes, metric.total, z)
        return Interval(low, high, confidence)
    if isinstance(metric, Counter) and aggregation in ("count", "rate"):
        count = metric.total
        share = z * math.sqrt(count) / count if count > 0 else 0.0
        return Interval(value * (1 - share), value * (1 + share), confidence)
    return None


def _quantile(trend: Trend, q: float, z: float, confidence: float) -> Interval:
    n = trend.count
    half = z * math.sqrt(n * q * (1 - q))
    low_rank = max(1, math.floor(n * q - half))
    high_rank = min(n, math.ceil(n * q + half) + 1)
    low = trend.percentile(100.0 * low_rank / n)
    high = trend.percentile(100.0 * high_rank / n)
    assert low is not None and high is not None
    return Interval(low, high, confidence)


def wilson(passes: int, total: int, z: float) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion ``passes / total``."""
    if total <= 0:
        return 0.0, 1.0
    p = passes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
